#!/usr/bin/env bash
# Packs what a WebGPU run on a lent GPU machine needs into .gpu/ (ignored by git), to be named in
# the device tool's `carry`: that machine reaches no registry, and may have no Node. Contents:
#   node.xz       this machine's node binary
#   app.tar.xz    dist/ (src, test, bench: built here) and the runtime node_modules (npm ci
#                 --omit=dev; the webgpu package's Dawn for linux-x64 only), unpacked in the repo there
#   tinyshakespeare.txt, and Debian's libvulkan1 .deb (the Vulkan loader Dawn opens)
# Then, on the device: bash scripts/gpu/run.sh (see its header). Needs ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu
npm run build >/dev/null
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp package.json package-lock.json "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
# Dawn ships a binary per platform; the GPU machine is linux-x64
find "$stage/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
mkdir -p "$stage/dist" && cp -r dist/src dist/test dist/bench "$stage/dist/"
tar -C "$stage" -cJf .gpu/app.tar.xz dist node_modules
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
cp "$root/../shared/data/tinyshakespeare.txt" .gpu/
(cd .gpu && apt-get download libvulkan1 >/dev/null 2>&1) || echo "note: apt-get download libvulkan1 failed; run.sh then relies on the machine's own loader"
du -sh .gpu/*
echo "total: $(du -sh .gpu | cut -f1) (the device tool carries 64 MiB with the working tree, $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) bytes tracked)"
