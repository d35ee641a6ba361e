"""PyTorch's side of bench/gpt2-sample.ts: GPT-2 124M from the same model.safetensors, sampled
at batch 1 with the same prompt, the same number of new tokens and the same threads, by
(1) a nanoGPT-style eager loop with a KV cache (each step feeds one token), and
(2) nanoGPT's own generate loop (each step runs the whole cropped context again).
Written for yorick. Prints JSON on stdout.

    python3 bench/gpt2_torch.py DIR THREADS NEW_TOKENS PROMPT_IDS(comma-separated)
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

folder, threads, new_tokens, prompt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(t) for t in sys.argv[4].split(',')]
torch.set_num_threads(threads)
torch.manual_seed(1337)
cfg = json.load(open(os.path.join(folder, 'config.json')))
L, H, C, V, BLOCK = cfg['n_layer'], cfg['n_head'], cfg['n_embd'], cfg['vocab_size'], cfg['n_positions']


def read_safetensors(path):
    """safetensors: 8-byte little-endian header length, JSON header, then the raw tensors."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        assert e['dtype'] == 'F32'
        a, b = e['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=(b - a) // 4, offset=a).copy()).view(e['shape'])
    return out


t0 = time.perf_counter()
w = read_safetensors(os.path.join(folder, 'model.safetensors'))
# Hugging Face's Conv1D weights are [in, out]: x @ W directly (as transformers computes them)
load_s = time.perf_counter() - t0


def ln(x, p):
    return F.layer_norm(x, (C,), w[p + '.weight'], w[p + '.bias'], 1e-5)


def block(x, i, cache=None, pos=0):
    p = f'h.{i}.'
    B, T, _ = x.shape
    q, k, v = torch.addmm(w[p + 'attn.c_attn.bias'], ln(x, p + 'ln_1').view(-1, C), w[p + 'attn.c_attn.weight']).view(B, T, 3 * C).split(C, dim=2)
    q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
    if cache is not None:
        kc, vc = cache[i]
        kc[:, :, pos:pos + T] = k
        vc[:, :, pos:pos + T] = v
        k, v = kc[:, :, :pos + T], vc[:, :, :pos + T]
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))  # (B, nh, T, pos + T)
    S = k.shape[2]
    mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
    att = F.softmax(att.masked_fill(~mask, float('-inf')), dim=-1)
    y = (att @ v).transpose(1, 2).contiguous().view(-1, C)
    x = x + torch.addmm(w[p + 'attn.c_proj.bias'], y, w[p + 'attn.c_proj.weight']).view(B, T, C)
    h = F.gelu(torch.addmm(w[p + 'mlp.c_fc.bias'], ln(x, p + 'ln_2').view(-1, C), w[p + 'mlp.c_fc.weight']), approximate='tanh')
    return x + torch.addmm(w[p + 'mlp.c_proj.bias'], h, w[p + 'mlp.c_proj.weight']).view(B, T, C)


def forward(idx, cache=None, pos=0):
    T = idx.shape[1]
    x = w['wte.weight'][idx] + w['wpe.weight'][pos:pos + T]
    for i in range(L):
        x = block(x, i, cache, pos)
    return ln(x[:, -1, :], 'ln_f') @ w['wte.weight'].t()  # (B, V): the last position only, as nanoGPT


def sample_next(logits, top_k=200):
    v, _ = torch.topk(logits, top_k)
    logits[logits < v[:, [-1]]] = -float('inf')
    return torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)


@torch.no_grad()
def generate_cached(idx, n):
    cache = [(torch.zeros(1, H, BLOCK, C // H), torch.zeros(1, H, BLOCK, C // H)) for _ in range(L)]
    logits = forward(idx, cache, 0)
    pos = idx.shape[1]
    for step in range(n):  # n forward passes in all, the first over the prompt
        nxt = sample_next(logits)
        idx = torch.cat((idx, nxt), dim=1)
        if step < n - 1:
            logits = forward(nxt, cache, pos)
            pos += 1
    return idx


@torch.no_grad()
def generate_plain(idx, n):  # nanoGPT's model.generate
    for _ in range(n):
        cond = idx if idx.size(1) <= BLOCK else idx[:, -BLOCK:]
        idx = torch.cat((idx, sample_next(forward(cond))), dim=1)
    return idx


def timed(fn, n):
    fn(torch.tensor([prompt]), 4)  # warm up
    t = time.perf_counter()
    out = fn(torch.tensor([prompt]), n)
    s = time.perf_counter() - t
    assert out.shape[1] == len(prompt) + n
    return n / s


cached = timed(generate_cached, new_tokens)
plain = timed(generate_plain, new_tokens)
blas = [line.strip() for line in torch.__config__.show().splitlines() if 'BLAS' in line]
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas, 'load_s': load_s,
                  'cached_tokens_per_s': cached, 'plain_tokens_per_s': plain}))
