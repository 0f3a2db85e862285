#!/usr/bin/env bash
# Compiles every kernels/*.cu to PTX with nvcc, at build time (Maven's generate-resources phase).
# Usage: nvcc-kernels.sh SOURCE_DIR OUTPUT_DIR
# Without nvcc (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin) it prints why and succeeds: the jar then
# carries only the .cu sources, which the backend compiles with NVRTC at run time.
# PTX targets compute_75 (the oldest architecture CUDA 13 supports); the driver JIT-compiles it for
# newer GPUs, and the loader lowers its .version header to what an older driver reads.
set -euo pipefail
src="$1"
out="$2"
arch="${TESSERA_PTX_ARCH:-compute_75}"

nvcc=""
for candidate in "$(command -v nvcc || true)" "${CUDA_HOME:-/nonexistent}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
        nvcc="$candidate"
        break
    fi
done
if [ -z "$nvcc" ]; then
    echo "[tessera] nvcc not found: no build-time PTX; CUDA kernels will be compiled by NVRTC at run time"
    exit 0
fi

mkdir -p "$out"
for cu in "$src"/*.cu; do
    name="$(basename "$cu" .cu)"
    ptx="$out/$name.ptx"
    if [ -f "$ptx" ] && [ "$ptx" -nt "$cu" ] && [ "$ptx" -nt "$src/common.cuh" ] && [ "$ptx" -nt "$0" ]; then
        continue   # up to date
    fi
    "$nvcc" -ptx -arch="$arch" -I"$src" -o "$ptx" "$cu"
done
echo "[tessera] nvcc $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'): PTX ($arch) for $(ls "$src"/*.cu | wc -l) kernel files in $out"
