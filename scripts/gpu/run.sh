#!/usr/bin/env bash
# The WebGPU checks on a lent GPU machine, from .gpu/ (scripts/gpu/pack.sh made it), in one call:
#   device run: command "bash scripts/gpu/run.sh", carry [".gpu"], timeout_s 600
# 1. yorick info (the adapter); 2. the kernel, parity and sampling tests on this GPU (WebGPU
# against the reference backend and PyTorch's fixtures); 3. npm run bench:gpu's measurement with
# PyTorch side by side (bench/gpu.js --peak-tflops $PEAK); 4. yorick train shakespeare_char
# --device=webgpu for $MAX_ITERS iterations (default 5000, nanoGPT's recipe) and its val loss.
# Logs go to $OUT.
# Options by environment: PEAK (TFLOP/s float32, default 67: H100/H200 SXM), MAX_ITERS,
# TRAIN_SECONDS (default 330: the run is stopped with SIGTERM then, which saves its checkpoint, so
# the call ends inside the tool's 600 s; metrics.jsonl comes back either way), SKIP_BENCH=1,
# SKIP_TESTS=1, SKIP_TRAIN=1, SHRINK=1 (a smoke run of everything at toy size, e.g. here on SwiftShader).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/yorick-gpu-out}
mkdir -p "$out"
work=$(mktemp -d)
log() { echo "== $*" | tee -a "$out/summary.txt"; }
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  xz -dc .gpu/node.xz > "$work/node" && chmod +x "$work/node"
  export PATH="$work:$PATH"
fi
log "node $(node --version) on $(uname -m); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
# dist/ and node_modules/ into the repo (git ignores both), beside test/fixtures
tar -xJf .gpu/app.tar.xz
if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  for f in .gpu/libvulkan1*.deb; do [ -e "$f" ] && dpkg -x "$f" / && ldconfig; done
fi
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -e "$nv" ] && export VK_DRIVER_FILES=${VK_DRIVER_FILES:-$nv}
node dist/src/cli/main.js info 2>&1 | tee "$out/info.txt"
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  log "tests: kernels, parity, sampling (WebGPU against the reference and PyTorch's fixtures)"
  timeout 300 node --test dist/test/kernels.test.js dist/test/parity.test.js dist/test/generate.test.js > "$out/tests.txt" 2>&1
  grep -E '^# (tests|pass|fail|skipped)|^not ok|^    not ok' "$out/tests.txt" | tee -a "$out/summary.txt"
fi
small=()
[ "${SHRINK:-0}" = 1 ] && small=(--n_layer=2 --n_head=4 --n_embd=64 --block_size=64 --batch_size=4 --eval_iters=2 --eval_interval=10)
bench=(--peak-tflops "${PEAK:-67}" --json "$out/bench.json")
[ "${SHRINK:-0}" = 1 ] && bench+=(--shrink)
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  log "bench/gpu.js ${bench[*]}"
  timeout 240 node dist/bench/gpu.js "${bench[@]}" 2>&1 | tee "$out/bench.txt" | grep -v '^{'
  grep -E '^(yorick|PyTorch) ' "$out/bench.txt" >> "$out/summary.txt"
fi
if [ "${SKIP_TRAIN:-0}" != 1 ]; then
  node dist/src/cli/main.js prepare --input .gpu/tinyshakespeare.txt --dataset shakespeare_char >/dev/null
  log "yorick train shakespeare_char --device=webgpu --max_iters=${MAX_ITERS:-5000} ${small[*]}"
  start=$(date +%s)
  timeout -s TERM "${TRAIN_SECONDS:-330}" node dist/src/cli/main.js train shakespeare_char --device=webgpu --max_iters="${MAX_ITERS:-5000}" \
    "${small[@]}" 2>&1 | tee "$out/train.txt" | tail -n 25
  log "train: $(( $(date +%s) - start )) s wall; last evaluation: $(grep -E '^step [0-9]+:' "$out/train.txt" | tail -1)"
  cp out-shakespeare-char/metrics.jsonl "$out/" 2>/dev/null
fi
cat "$out/summary.txt"
