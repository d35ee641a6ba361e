"""PyTorch's side of `npm run bench`: the shakespeare_char_cpu training step in eager PyTorch,
as nanoGPT's train.py runs it on a CPU (its model from scripts/fixtures/torch_models.py: manual
attention as model.py uses without flash attention; AdamW without fused kernels, clip_grad_norm_
at 1.0), timed the way bench/measure.ts
times yorick: random token batches, a few warm-up steps, then the median of the timed steps.

    python3 bench/pytorch_train.py [--threads N] [--seconds S]   (prints one JSON line)

--recipe shakespeare_char --device cuda: nanoGPT's GPU recipe (6 layers, 6 heads, 384 wide, block 256,
batch 64, dropout 0.2, attention through scaled_dot_product_attention where PyTorch has it), eager,
timed over blocks of --sync-every steps that end in one loss.item() (as bench/gpu.ts times yorick).
--dtype bfloat16: as nanoGPT's train.py runs on a GPU that has it (autocast to bfloat16, TF32 matmuls
allowed); the default float32 is the precision yorick's kernels compute in.

Run it with Debian's OpenBLAS-openmp build for a fair baseline (bench.ts sets LD_LIBRARY_PATH).
"""
import argparse, json, os, statistics, sys, time

import torch
import torch.nn.functional as F

# nanoGPT's GPT in plain PyTorch: the same module the parity fixtures are made with
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'fixtures'))
from torch_models import GPT  # noqa: E402

RECIPES = {
    # name: (vocab, block, batch, layers, heads, width, dropout, lr, beta2)
    'shakespeare_char_cpu': (65, 64, 12, 4, 4, 128, 0.0, 1e-3, 0.99),
    'shakespeare_char': (65, 256, 64, 6, 6, 384, 0.2, 1e-3, 0.99),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seconds', type=float, default=4.0)
    ap.add_argument('--recipe', choices=sorted(RECIPES), default='shakespeare_char_cpu')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--sync-every', type=int, default=1)
    ap.add_argument('--dtype', choices=['float32', 'bfloat16'], default='float32')
    args = ap.parse_args()
    V, T, B, L, H, C, dropout, lr, beta2 = RECIPES[args.recipe]
    dev = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1337)
    flash = dev.type == 'cuda' and hasattr(F, 'scaled_dot_product_attention')
    model = GPT({'vocab_size': V, 'block_size': T, 'n_layer': L, 'n_head': H, 'n_embd': C, 'bias': False,
                 'dropout': dropout, 'flash': flash}).to(dev)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=lr, betas=(0.9, beta2))

    if args.dtype == 'bfloat16':
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=args.dtype == 'bfloat16')

    def step():
        x = torch.randint(V, (B, T), device=dev)
        y = torch.randint(V, (B, T), device=dev)
        with autocast:
            _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    def block():
        for _ in range(args.sync_every - 1):
            step()
        return step().item()

    for _ in range(5):
        block()
    times = []
    start = time.perf_counter()
    while len(times) < 10 or (time.perf_counter() - start < args.seconds and len(times) < 200):
        t0 = time.perf_counter()
        block()
        times.append((time.perf_counter() - t0) * 1000 / args.sync_every)
    print(json.dumps({'torch': torch.__version__, 'threads': args.threads, 'device': str(dev), 'recipe': args.recipe, 'flash': flash, 'dtype': args.dtype,
                      'msPerIter': statistics.median(times), 'msPerIterMin': min(times), 'iters': len(times) * args.sync_every,
                      'blas': torch.__config__.show().split('BLAS_INFO=')[-1].split(',')[0]}))


if __name__ == '__main__':
    main()
