"""Loads a ckpt.pt that yorick wrote the way nanoGPT's sample.py and train.py --init_from=resume do,
and reports what PyTorch sees, as JSON on stdout.

    torch_check.py CKPT MODEL_ONLY EXPECTED_JSON

CKPT is loaded with torch.load(weights_only=True) on PyTorch 2.x. PyTorch 1.x's weights_only
unpickler has no opcode for floats (it cannot read nanoGPT's own checkpoints), so there CKPT is
loaded through a pickle module whose find_class admits only the weights_only allow-list, and
MODEL_ONLY (the state dict alone, no floats) with weights_only=True. The model below has
nanoGPT's module names and computation (own code); its state dict load is strict, like nanoGPT's.
"""
import json
import math
import pickle
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

ckpt_path, model_only_path, expected_path = sys.argv[1:4]
MAJOR = int(torch.__version__.split('.')[0])

ALLOWED = {('collections', 'OrderedDict'), ('torch._utils', '_rebuild_tensor_v2'), ('torch._utils', '_rebuild_parameter'),
           ('torch', 'Size')}


class AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f'global {module}.{name} is not on the allow-list')
        return super().find_class(module, name)


restricted = types.ModuleType('restricted_pickle')
restricted.Unpickler = AllowListUnpickler
restricted.load = pickle.load
restricted.__name__ = 'restricted_pickle'

if MAJOR >= 2:
    ck = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    how = 'weights_only=True'
else:
    ck = torch.load(ckpt_path, map_location='cpu', pickle_module=restricted)
    how = 'allow-list find_class (weights_only=True of PyTorch 1.x cannot read floats)'
model_only = torch.load(model_only_path, map_location='cpu', weights_only=True)


class SelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size, bias):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.n_head = n_head
        if MAJOR < 2:  # nanoGPT keeps the mask as a buffer when there is no flash attention
            self.register_buffer('bias', torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float('-inf')).softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, n_embd, bias):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.ln_1 = nn.LayerNorm(a['n_embd'], elementwise_affine=True)
        self.attn = SelfAttention(a['n_embd'], a['n_head'], a['block_size'], a['bias'])
        self.ln_2 = nn.LayerNorm(a['n_embd'])
        self.mlp = MLP(a['n_embd'], a['bias'])

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout):  # GPTConfig's fields, no more
        super().__init__()
        assert bias, 'this check covers bias=True models'
        a = dict(n_head=n_head, n_embd=n_embd, block_size=block_size, bias=bias)
        self.block_size = block_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd), wpe=nn.Embedding(block_size, n_embd),
            h=nn.ModuleList([Block(a) for _ in range(n_layer)]), ln_f=nn.LayerNorm(n_embd)))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


model = GPT(**ck['model_args'])
sd = ck['model']
model.load_state_dict(sd)  # strict, as nanoGPT's
params = {n: p for n, p in model.named_parameters()}
decay = [p for p in params.values() if p.dim() >= 2]
no_decay = [p for p in params.values() if p.dim() < 2]
cfg = ck['config']
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                        lr=cfg['learning_rate'], betas=(cfg['beta1'], cfg['beta2']))
opt.load_state_dict(ck['optimizer'])
step_before = float(opt.state[decay[0]]['step'])

exp = json.load(open(expected_path))
x, y = torch.tensor([exp['input_ids']]), torch.tensor([exp['target_ids']])
with torch.no_grad():
    logits, loss = model(x, y)
    idx = torch.tensor([[exp['greedy_from_newline_40'][0]]])
    for _ in range(40):
        lg, _ = model(idx[:, -model.block_size:], torch.zeros_like(idx[:, -model.block_size:]))
        idx = torch.cat([idx, lg[:, -1, :].argmax(dim=-1, keepdim=True)], dim=1)
_, train_loss = model(x, y)
train_loss.backward()
opt.step()  # the loaded moments have the right shapes and types to continue training

print(json.dumps({
    'torch_version': torch.__version__, 'how': how, 'keys': list(ck.keys()), 'model_keys': list(sd.keys()),
    'model_only_equal': list(model_only.keys()) == [k for k in sd.keys() if not k.endswith('.attn.bias') and k != 'lm_head.weight']
    and all(torch.equal(model_only[k], sd[k]) for k in model_only),
    'tied_storage': sd['lm_head.weight'].data_ptr() == sd['transformer.wte.weight'].data_ptr(),
    'model_args': ck['model_args'], 'iter_num': ck['iter_num'], 'best_val_loss': float(ck['best_val_loss']),
    'group_sizes': [len(g['params']) for g in ck['optimizer']['param_groups']],
    'logits_max_diff': (logits.flatten() - torch.tensor(exp['logits'])).abs().max().item(),
    'loss': loss.item(), 'greedy': idx[0].tolist(), 'step_before': step_before,
    'step_after': float(opt.state[decay[0]]['step']),
}))
