"""PyTorch's side of `npm run bench`: the shakespeare_char_cpu training step in eager PyTorch,
as nanoGPT's train.py runs it on a CPU (manual attention as model.py uses without flash
attention, AdamW without fused kernels, clip_grad_norm_ at 1.0), timed the way bench/measure.ts
times yorick: random token batches, a few warm-up steps, then the median of the timed steps.

    python3 bench/pytorch_train.py [--threads N] [--seconds S]   (prints one JSON line)

Run it with Debian's OpenBLAS-openmp build for a fair baseline (bench.ts sets LD_LIBRARY_PATH).
"""
import argparse, json, math, statistics, time

import torch
import torch.nn as nn
from torch.nn import functional as F

V, T, B, L, H, C = 65, 64, 12, 4, 4, 128


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, elementwise_affine=True)
        self.ln_1.bias = None
        self.c_attn = nn.Linear(C, 3 * C, bias=False)
        self.c_proj = nn.Linear(C, C, bias=False)
        self.ln_2 = nn.LayerNorm(C)
        self.ln_2.bias = None
        self.c_fc = nn.Linear(C, 4 * C, bias=False)
        self.mlp_proj = nn.Linear(4 * C, C, bias=False)
        self.register_buffer('mask', torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def attn(self, x):
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (z.view(b, t, H, c // H).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(F.layer_norm(x, (C,), self.ln_1.weight, None, 1e-5))
        h = F.gelu(self.c_fc(F.layer_norm(x, (C,), self.ln_2.weight, None, 1e-5)))
        return x + self.mlp_proj(h)


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.ln_f.bias = None

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1)))
        for block in self.h:
            x = block(x)
        x = F.layer_norm(x, (C,), self.ln_f.weight, None, 1e-5)
        logits = x @ self.wte.weight.t()  # lm_head tied to wte
        return F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seconds', type=float, default=4.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1337)
    model = GPT()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))

    def step():
        x = torch.randint(V, (B, T))
        y = torch.randint(V, (B, T))
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(5):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < 10 or (time.perf_counter() - start < args.seconds and len(times) < 200):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'torch': torch.__version__, 'threads': args.threads, 'msPerIter': statistics.median(times),
                      'msPerIterMin': min(times), 'iters': len(times), 'blas': torch.__config__.show().split('BLAS_INFO=')[-1].split(',')[0]}))


if __name__ == '__main__':
    main()
