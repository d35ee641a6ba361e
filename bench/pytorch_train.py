"""PyTorch's side of `npm run bench`: the shakespeare_char_cpu training step in eager PyTorch,
as nanoGPT's train.py runs it on a CPU (its model from scripts/fixtures/torch_models.py: manual
attention as model.py uses without flash attention; AdamW without fused kernels, clip_grad_norm_
at 1.0), timed the way bench/measure.ts
times yorick: random token batches, a few warm-up steps, then the median of the timed steps.

    python3 bench/pytorch_train.py [--threads N] [--seconds S]   (prints one JSON line)

Run it with Debian's OpenBLAS-openmp build for a fair baseline (bench.ts sets LD_LIBRARY_PATH).
"""
import argparse, json, os, statistics, sys, time

import torch

# nanoGPT's GPT in plain PyTorch: the same module the parity fixtures are made with
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'fixtures'))
from torch_models import GPT  # noqa: E402

V, T, B, L, H, C = 65, 64, 12, 4, 4, 128


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seconds', type=float, default=4.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1337)
    model = GPT({'vocab_size': V, 'block_size': T, 'n_layer': L, 'n_head': H, 'n_embd': C, 'bias': False})
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))

    def step():
        x = torch.randint(V, (B, T))
        y = torch.randint(V, (B, T))
        _, loss = model(x, y)
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
