#!/usr/bin/env bash
# Packs the GPU benchmark (bench/gpu.ts) for a GPU machine that has PyTorch but no Node.js and no network:
# this machine's `node` binary, onnxruntime-node (libonnxruntime.so.1 + its binding + JS), Dawn's Node bindings
# (the `webgpu` package: the adapter report), the Vulkan loader (Debian's libvulkan1 .deb), the benchmark
# bundled into one JS file (inputs are generated in it: seeded, pre-normalised tensors, no image decoding),
# and the PyTorch side (bench/_torch.py + test/parity/reference.py). The big binaries are xz-compressed inside
# an uncompressed tar; the whole must stay under the 64 MiB a device call may carry (the script checks).
#
#   bash bench/gpu-pack.sh [OUT.tar]        (default bench/.out/gpu-bundle.tar)
# then on the GPU machine:  bash bench/gpu-device.sh bench/.out/gpu-bundle.tar OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench/.out/gpu-bundle.tar}"
LIMIT=$((64 * 1024 * 1024))
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
P="$STAGE/reid-gpu-bench"
ORT=node_modules/onnxruntime-node
ORTBIN="$ORT/bin/napi-v6/linux/x64"
mkdir -p "$P/bench" "$P/node_modules/onnxruntime-node/$(dirname "${ORTBIN#"$ORT/"}")/x64" "$P/node_modules/webgpu/dist/linux-x64" "$P/vulkan"

# The benchmark as one ES module (pure-JS dependencies inside; the native ones stay packages).
npx esbuild bench/gpu.ts --bundle --platform=node --target=node20 --format=esm --outfile="$P/bench/gpu.mjs" \
  --external:onnxruntime-node --external:webgpu --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
cp bench/_torch.py test/parity/reference.py "$P/bench/"
cp bench/gpu-device.sh "$P/"

# onnxruntime-node: JS, binding, and the 45 MB runtime library compressed.
cp -r "$ORT/package.json" "$ORT/dist" "$P/node_modules/onnxruntime-node/"
cp "$ORTBIN/onnxruntime_binding.node" "$P/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/"
xz -T2 -6 -c "$ORTBIN/libonnxruntime.so.1" > "$P/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz"
cp -r node_modules/onnxruntime-common "$P/node_modules/"
# Dawn's Node bindings (linux-x64 only).
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$P/node_modules/webgpu/"
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$P/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
# This machine's node (Node 20: needs only libc / libstdc++).
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > "$P/node.xz"
# The Vulkan loader (the GPU machine has NVIDIA's ICD but no loader).
(cd "$P/vulkan" && apt-get download libvulkan1 >/dev/null 2>&1) || { echo "gpu-pack: apt-get download libvulkan1 failed (run apt-get update)" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
tar -C "$STAGE" -cf "$OUT" reid-gpu-bench
SIZE=$(stat -c %s "$OUT")
echo "gpu-pack: $OUT $((SIZE / 1024 / 1024)) MiB ($SIZE bytes; limit 64 MiB)"
[ "$SIZE" -le "$LIMIT" ] || { echo "gpu-pack: the bundle is over 64 MiB" >&2; exit 1; }
