"""A small stand-in for nanoGPT's sample.py and train.py --init_from=resume, to check that a
ckpt.pt written by `yorick export --format nanogpt` works where nanoGPT works. Written for
yorick (not nanoGPT's code): the same model (scripts/fixtures/torch_models.py, plus the attn.bias
buffers PyTorch < 2.0 gets), the same checkpoint handling and the same order of random draws, so
that the numbers are nanoGPT's. Prints JSON on stdout.

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

# nanoGPT's GPT (module names, initialization order, exact GELU, dropout at its four places):
# the model the parity fixtures are made with
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures'))
from torch_models import GPT  # noqa: E402

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


MODEL_KEYS = ['n_layer', 'n_head', 'n_embd', 'block_size', 'bias', 'vocab_size', 'dropout']


def build(ckpt, dropout=None):
    a = {k: ckpt['model_args'][k] for k in MODEL_KEYS}
    if dropout is not None:
        a['dropout'] = dropout
    model = GPT(a)
    if TORCH_MAJOR < 2:  # no flash attention: nanoGPT registers the causal mask as a buffer (in the state dict)
        T = a['block_size']
        for block in model.transformer.h:
            block.attn.register_buffer('bias', torch.tril(torch.ones(T, T)).view(1, 1, T, T))
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
            logits, _ = model(idx[:, -model.cfg['block_size']:])
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
    block_size, batch_size = model.cfg['block_size'], cfg['batch_size']
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
        torch.save({'model': raw.state_dict(), 'optimizer': optimizer.state_dict(), 'model_args': dict(raw.cfg), 'iter_num': iter_num,
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
