#!/usr/bin/env bash
# Runs the packed GPU benchmark (bench/gpu-pack.sh) on a GPU machine without Node.js, in ONE command:
#   bash bench/gpu-device.sh BUNDLE.tar OUT_DIR
# Unpacks (xz via Python's lzma when the xz tool is missing), puts the Vulkan loader from the .deb next to it,
# points Vulkan at NVIDIA's ICD (VK_ICD_FILENAMES; an existing value is kept), gives Dawn a private
# XDG_RUNTIME_DIR, and runs bench/gpu.mjs: webgpu eval (and training when the build has it) next to PyTorch
# on CUDA, resnet50 and resnet18, 256×128, batch 16, fp32. Writes OUT_DIR/gpu.json and OUT_DIR/gpu.log.
set -euo pipefail
BUNDLE="$(readlink -f "$1")"
OUTDIR="$(mkdir -p "$2" && readlink -f "$2")"
WORK="$(mktemp -d)"
tar -C "$WORK" -xf "$BUNDLE"
B="$WORK/reid-gpu-bench"
unxz_to() { # FILE.xz → FILE
  if command -v xz >/dev/null; then xz -d -c "$1" > "${1%.xz}"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "${1%.xz}"; fi
  rm -f "$1"
}
unxz_to "$B/node.xz" && chmod +x "$B/node"
unxz_to "$B/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz"
unxz_to "$B/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
DEB="$(ls "$B"/vulkan/libvulkan1_*.deb)"
if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$DEB" "$B/vulkan/root"; else (mkdir -p "$B/vulkan/root" && cd "$B/vulkan/root" && ar x "$DEB" && tar -xf data.tar.* ); fi
VKLIB="$(dirname "$(find "$B/vulkan/root" -name 'libvulkan.so.1*' | head -1)")"
# NVIDIA's ICD names its library (libGLX_nvidia.so.0) by soname: the driver's folders must be on the path.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && VKLIB="$VKLIB:$d"; done
export LD_LIBRARY_PATH="$VKLIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
NVICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$NVICD" ]; then export VK_ICD_FILENAMES="$NVICD"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
export BENCH_OUT="$OUTDIR/gpu.json"
export BENCH_PYTHON="${BENCH_PYTHON:-$(command -v python3 || echo python3)}"
cd "$B"
"$B/node" --version
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-} LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
"$B/node" bench/gpu.mjs 2>&1 | tee "$OUTDIR/gpu.log"
rm -rf "$WORK"
