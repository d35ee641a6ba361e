"""What PyTorch reads from the nanoGPT fixture, as a small JSON the tests compare against.

Run from the repository root with a Python that has torch (1.13 made the committed file):
    python3 test/interop/py/nanogpt_values.py > test/fixtures/interop/nanogpt-tiny/torch-values.json
The fixture is our own trusted file, so weights_only=False is fine here (PyTorch 1.13's
weights_only unpickler cannot read floats).
"""
import json
import pickle
import sys

import torch

DIR = 'test/fixtures/interop/nanogpt-tiny'


def summary(t):
    t = t.detach().to(torch.float64)
    flat = t.reshape(-1)
    return {
        'shape': list(t.shape),
        'sum': flat.sum().item(),
        'sumsq': (flat * flat).sum().item(),
        'head': [float(x) for x in flat[:4].to(torch.float32).tolist()],
    }


ck = torch.load(f'{DIR}/ckpt.pt', map_location='cpu')
opt = ck['optimizer']
groups = [{k: v for k, v in g.items() if k != 'params'} | {'params': g['params']} for g in opt['param_groups']]
out = {
    'torch_version': torch.__version__,
    'keys': list(ck.keys()),
    'model': {k: summary(v) for k, v in ck['model'].items()},
    'model_args': ck['model_args'],
    'iter_num': ck['iter_num'],
    'best_val_loss': float(ck['best_val_loss']),
    'config': ck['config'],
    'param_groups': [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in groups],
    'state': {str(i): {'step': float(s['step']), 'exp_avg': summary(s['exp_avg']), 'exp_avg_sq': summary(s['exp_avg_sq'])}
              for i, s in opt['state'].items()},
}
with open(f'{DIR}/meta.pkl', 'rb') as f:
    meta = pickle.load(f)
out['meta'] = {'vocab_size': meta['vocab_size'], 'itos': ''.join(meta['itos'][i] for i in range(meta['vocab_size']))}
json.dump(out, sys.stdout, indent=1)
sys.stdout.write('\n')
