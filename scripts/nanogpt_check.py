"""A small stand-in for nanoGPT's sample.py and train.py --init_from=resume, to check that a
ckpt.pt written by `yorick export --format nanogpt` works where nanoGPT works. Written for
yorick (not nanoGPT's code): the same model (module names, initialization order, exact GELU,
the attn.bias buffers PyTorch < 2.0 gets), the same checkpoint handling and the same order of
random draws, so that the numbers are nanoGPT's. Prints JSON on stdout.

    python3 scripts/nanogpt_check.py sample CKPT [--data_dir=data] [--start=TEXT] [--max_new_tokens=N] [--seed=1337]
        greedy tokens (top_k=1, as generate(..., top_k=1)), decoded with data/<dataset>/meta.pkl
    python3 scripts/nanogpt_check.py train CKPT [--data_dir=data] [--steps=N] [--save=PATH] [--key=value ...]
        N training iterations resumed from CKPT as train.py runs them (config from the
        checkpoint, --key=value overrides it); with torchrun (RANK set) under DistributedDataParallel
        on the gloo backend; --save writes the checkpoint train.py would write at the end

CKPT is read with torch.load(weights_only=True) where PyTorch can (2.x); PyTorch 1.x's
weights_only cannot read floats, so there a pickle module admitting only the same allow-list
of globals reads it. Nothing else is ever unpickled.
"""
import json
import math
import os
import pickle
import sys
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TORCH_MAJOR = int(torch.__version__.split('.')[0])
ALLOWED = {('collections', 'OrderedDict'), ('torch._utils', '_rebuild_tensor_v2'), ('torch._utils', '_rebuild_parameter'),
           ('torch', 'FloatStorage'), ('torch', 'LongStorage'), ('torch', 'Size')}


class AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f'global {module}.{name} is not on the allow-list')
        return super().find_class(module, name)


def load_checkpoint(path):
    if TORCH_MAJOR >= 2:
        return torch.load(path, map_location='cpu', weights_only=True), 'weights_only=True'
    restricted = types.ModuleType('restricted_pickle')
    restricted.Unpickler = AllowListUnpickler
    restricted.load = pickle.load
    return torch.load(path, map_location='cpu', pickle_module=restricted), 'allow-list unpickler (PyTorch 1.x)'


# ---- the model: nanoGPT's GPT, parameter for parameter and draw for draw

class LayerNorm(nn.Module):
    def __init__(self, n, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.c_attn = nn.Linear(a['n_embd'], 3 * a['n_embd'], bias=a['bias'])
        self.c_proj = nn.Linear(a['n_embd'], a['n_embd'], bias=a['bias'])
        self.attn_dropout = nn.Dropout(a['dropout'])
        self.resid_dropout = nn.Dropout(a['dropout'])
        self.n_head = a['n_head']
        T = a['block_size']
        if TORCH_MAJOR < 2:  # no flash attention: the causal mask is a buffer (and in the state dict)
            self.register_buffer('bias', torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
        att = att.masked_fill(torch.tril(torch.ones(T, T, dtype=torch.bool)).logical_not(), float('-inf'))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.ln_1 = LayerNorm(a['n_embd'], a['bias'])
        self.attn = Attention(a)
        self.ln_2 = LayerNorm(a['n_embd'], a['bias'])
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(a['n_embd'], 4 * a['n_embd'], bias=a['bias'])
        self.mlp.c_proj = nn.Linear(4 * a['n_embd'], a['n_embd'], bias=a['bias'])
        self.mlp_dropout = nn.Dropout(a['dropout'])

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_dropout(self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)))))


class GPT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(a['vocab_size'], a['n_embd']),
            wpe=nn.Embedding(a['block_size'], a['n_embd']),
            drop=nn.Dropout(a['dropout']),
            h=nn.ModuleList([Block(a) for _ in range(a['n_layer'])]),
            ln_f=LayerNorm(a['n_embd'], a['bias'])))
        self.lm_head = nn.Linear(a['n_embd'], a['vocab_size'], bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith('c_proj.weight'):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * a['n_layer']))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T)))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


MODEL_KEYS = ['n_layer', 'n_head', 'n_embd', 'block_size', 'bias', 'vocab_size', 'dropout']


def build(ckpt, dropout=None):
    a = {k: ckpt['model_args'][k] for k in MODEL_KEYS}
    if dropout is not None:
        a['dropout'] = dropout
    model = GPT(a)
    sd = {k[len('_orig_mod.'):] if k.startswith('_orig_mod.') else k: v for k, v in ckpt['model'].items()}
    model.load_state_dict(sd)  # strict, as nanoGPT's
    return model


def options(argv):
    out = {}
    for arg in argv:
        if not arg.startswith('--') or '=' not in arg:
            sys.exit(f'expected --key=value, got {arg}')
        k, v = arg[2:].split('=', 1)
        out[k] = v
    return out


def sample(path, opts):
    seed = int(opts.get('seed', 1337))
    torch.manual_seed(seed)  # as sample.py: seeded before the model is built
    ckpt, how = load_checkpoint(path)
    model = build(ckpt)
    model.eval()
    meta_path = os.path.join(opts.get('data_dir', 'data'), ckpt['config']['dataset'], 'meta.pkl')
    with open(meta_path, 'rb') as f:
        meta = AllowListUnpickler(f).load()
    start = opts.get('start', '\n')
    idx = torch.tensor([[meta['stoi'][c] for c in start]])
    with torch.no_grad():
        for _ in range(int(opts.get('max_new_tokens', 40))):
            logits, _ = model(idx[:, -model.a['block_size']:])
            logits = logits[:, -1, :]
            v, _ = torch.topk(logits, 1)  # generate(..., top_k=1): everything below the best is -inf
            logits[logits < v[:, [-1]]] = -float('inf')
            idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)), dim=1)
    ids = idx[0].tolist()
    print(json.dumps({'torch_version': torch.__version__, 'how': how, 'ids': ids, 'text': ''.join(meta['itos'][i] for i in ids)}))


def train(path, opts):
    ddp = int(os.environ.get('RANK', -1)) != -1
    rank, world = 0, 1
    if ddp:
        import torch.distributed as dist
        dist.init_process_group(backend='gloo')
        rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(1337 + rank)
    ckpt, how = load_checkpoint(path)
    cfg = dict(ckpt['config'])
    for k, v in opts.items():
        if k in cfg:
            cfg[k] = type(cfg[k])(v) if not isinstance(cfg[k], bool) else v in ('True', 'true', '1')
    steps = int(opts.get('steps', 1))
    accum = cfg['gradient_accumulation_steps'] // world
    model = build(ckpt, dropout=cfg['dropout'])
    block_size, batch_size = model.a['block_size'], cfg['batch_size']
    params = dict(model.named_parameters())
    groups = [{'params': [p for p in params.values() if p.dim() >= 2], 'weight_decay': cfg['weight_decay']},
              {'params': [p for p in params.values() if p.dim() < 2], 'weight_decay': 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=cfg['learning_rate'], betas=(cfg['beta1'], cfg['beta2']))
    optimizer.load_state_dict(ckpt['optimizer'])
    raw = model
    if ddp:
        model = nn.parallel.DistributedDataParallel(model)
    data_dir = os.path.join(opts.get('data_dir', 'data'), cfg['dataset'])

    def get_batch(split):
        data = np.memmap(os.path.join(data_dir, f'{split}.bin'), dtype=np.uint16, mode='r')
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([torch.from_numpy(data[i:i + block_size].astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + block_size].astype(np.int64)) for i in ix])
        return x, y

    def lr_at(it):
        if not cfg['decay_lr']:
            return cfg['learning_rate']
        if it < cfg['warmup_iters']:
            return cfg['learning_rate'] * (it + 1) / (cfg['warmup_iters'] + 1)
        if it > cfg['lr_decay_iters']:
            return cfg['min_lr']
        ratio = (it - cfg['warmup_iters']) / (cfg['lr_decay_iters'] - cfg['warmup_iters'])
        return cfg['min_lr'] + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (cfg['learning_rate'] - cfg['min_lr'])

    iter_num, best_val_loss = ckpt['iter_num'], float(ckpt['best_val_loss'])
    ckpt = None
    X, Y = get_batch('train')
    losses, evals = [], []
    for _ in range(steps):
        lr = lr_at(iter_num)
        for g in optimizer.param_groups:
            g['lr'] = lr
        if iter_num % cfg['eval_interval'] == 0 and rank == 0:
            model.eval()
            with torch.no_grad():
                est = {s: float(torch.tensor([model(*get_batch(s))[1].item() for _ in range(cfg['eval_iters'])]).mean()) for s in ('train', 'val')}
            model.train()
            evals.append([iter_num, est['train'], est['val']])
            best_val_loss = min(best_val_loss, est['val'])
        for micro in range(accum):
            if ddp:
                model.require_backward_grad_sync = micro == accum - 1
            _, loss = model(X, Y)
            loss = loss / accum
            X, Y = get_batch('train')
            loss.backward()
        if cfg['grad_clip'] != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg['grad_clip'])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append([iter_num, loss.item() * accum])
        iter_num += 1
    if rank == 0 and 'save' in opts:
        torch.save({'model': raw.state_dict(), 'optimizer': optimizer.state_dict(), 'model_args': dict(raw.a), 'iter_num': iter_num,
                    'best_val_loss': best_val_loss, 'config': cfg}, opts['save'])
    if rank == 0:
        print(json.dumps({'torch_version': torch.__version__, 'how': how, 'ddp': ddp, 'world_size': world,
                          'backend': 'gloo' if ddp else None, 'losses': losses, 'evals': evals}))
    if ddp:
        import torch.distributed as dist
        dist.destroy_process_group()


if __name__ == '__main__':
    if len(sys.argv) < 3 or sys.argv[1] not in ('sample', 'train'):
        sys.exit(__doc__)
    {'sample': sample, 'train': train}[sys.argv[1]](sys.argv[2], options(sys.argv[3:]))
