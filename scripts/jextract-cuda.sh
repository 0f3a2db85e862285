#!/usr/bin/env bash
# Regenerates the CUDA bindings in cuda-bindings/src/main/java/dev/tessera/cuda/ffi with jextract
# (https://jdk.java.net/jextract, 22 or newer), where jextract is installed:
#     CUDA_HOME=/usr/local/cuda CUBLAS_INCLUDE=... NVRTC_INCLUDE=... scripts/jextract-cuda.sh
# The checked-in classes were written by hand in jextract's output shape (one class per header, a
# static method per function whose javadoc shows the C prototype, a lazily linked MethodHandle per
# symbol in a holder class). Two deliberate differences are re-applied after generation:
#   - symbols come from dev.tessera.cuda.ffi.CudaLibraries (searched folders, pip wheels) instead
#     of jextract's fixed library lookup, and
#   - a missing library or symbol gives a handle that throws TesseraException with the reason,
#     instead of an UnsatisfiedLinkError while the holder class initialises.
# Versioned entry points are bound under the names cuda.h's macros give them (cuMemAlloc is
# declared as cuMemAlloc_v2), exactly as jextract sees them after preprocessing.
#
#     scripts/jextract-cuda.sh --check
# needs no jextract: it checks that the lists below are exactly the functions the Java classes bind.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/cuda-bindings/src/main/java"
pkg=dev.tessera.cuda.ffi
pkgdir="$out/${pkg//.//}"

DRIVER_FUNCTIONS=(
    cuGetErrorString cuGetErrorName cuInit cuDriverGetVersion
    cuDeviceGet cuDeviceGetCount cuDeviceGetName cuDeviceGetAttribute
    cuDevicePrimaryCtxRetain cuDevicePrimaryCtxRelease_v2 cuCtxSetCurrent cuCtxSynchronize
    cuMemGetInfo_v2 cuMemAlloc_v2 cuMemFree_v2 cuMemAllocHost_v2 cuMemFreeHost
    cuMemcpyHtoD_v2 cuMemcpyDtoH_v2 cuMemcpyDtoD_v2 cuMemcpyHtoDAsync_v2 cuMemcpyDtoHAsync_v2 cuMemcpyDtoDAsync_v2
    cuMemsetD8_v2 cuMemsetD8Async
    cuModuleLoadData cuModuleGetFunction cuLaunchKernel
    cuStreamCreate cuStreamSynchronize cuStreamDestroy_v2 cuStreamWaitEvent
    cuEventCreate cuEventRecord cuEventDestroy_v2
)
DRIVER_CONSTANTS=(
    CUDA_SUCCESS CUDA_ERROR_INVALID_VALUE CUDA_ERROR_OUT_OF_MEMORY CUDA_ERROR_NOT_INITIALIZED CUDA_ERROR_NO_DEVICE
    CUDA_ERROR_INVALID_DEVICE CUDA_ERROR_NO_BINARY_FOR_GPU CUDA_ERROR_INVALID_PTX CUDA_ERROR_UNSUPPORTED_PTX_VERSION
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR CU_STREAM_NON_BLOCKING CU_EVENT_DISABLE_TIMING
)
CUBLAS_FUNCTIONS=(
    cublasCreate_v2 cublasDestroy_v2 cublasSetStream_v2 cublasSgemm_v2 cublasSgemmStridedBatched
)
CUBLAS_CONSTANTS=(
    CUBLAS_STATUS_SUCCESS CUBLAS_STATUS_NOT_INITIALIZED CUBLAS_STATUS_ALLOC_FAILED CUBLAS_STATUS_INVALID_VALUE
    CUBLAS_STATUS_ARCH_MISMATCH CUBLAS_STATUS_MAPPING_ERROR CUBLAS_STATUS_EXECUTION_FAILED CUBLAS_STATUS_INTERNAL_ERROR
    CUBLAS_STATUS_NOT_SUPPORTED CUBLAS_STATUS_LICENSE_ERROR CUBLAS_OP_N CUBLAS_OP_T
)
NVRTC_FUNCTIONS=(
    nvrtcGetErrorString nvrtcCreateProgram nvrtcDestroyProgram nvrtcCompileProgram
    nvrtcGetPTXSize nvrtcGetPTX nvrtcGetProgramLogSize nvrtcGetProgramLog
)
NVRTC_CONSTANTS=(NVRTC_SUCCESS NVRTC_ERROR_INVALID_OPTION NVRTC_ERROR_COMPILATION)

# The functions a checked-in class binds: one NAME$descriptor() each.
bound() {
    sed -n 's/.*public static FunctionDescriptor \([A-Za-z0-9_]*\)\$descriptor().*/\1/p' "$pkgdir/$1.java" | sort
}
listed() {
    printf '%s\n' "$@" | sort
}

if [ "${1:-}" = "--check" ]; then
    status=0
    for pair in "cuda_h:DRIVER_FUNCTIONS" "cublas_api_h:CUBLAS_FUNCTIONS" "nvrtc_h:NVRTC_FUNCTIONS"; do
        class="${pair%%:*}"
        declare -n list="${pair##*:}"
        if ! diff <(bound "$class") <(listed "${list[@]}") >/dev/null; then
            echo "$class.java and ${pair##*:} differ:"
            diff <(bound "$class") <(listed "${list[@]}") || true
            status=1
        fi
    done
    [ "$status" = 0 ] && echo "jextract-cuda: the include lists match the checked-in bindings"
    exit "$status"
fi

command -v jextract >/dev/null || { echo "jextract is not installed (use --check to verify the lists without it)" >&2; exit 2; }
cuda_home="${CUDA_HOME:-/usr/local/cuda}"
cublas_include="${CUBLAS_INCLUDE:-$cuda_home/include}"   # pip: .../site-packages/nvidia/cublas/include
nvrtc_include="${NVRTC_INCLUDE:-$cuda_home/include}"     # pip: .../site-packages/nvidia/cuda_nvrtc/include

includes() {   # --include-function / --include-constant arguments
    local kind="$1"
    shift
    for name in "$@"; do
        printf -- '--include-%s\n%s\n' "$kind" "$name"
    done
}

generate() {   # header-class library-field include-dir header functions-var constants-var
    local class="$1" library="$2" include="$3" header="$4"
    local -n functions="$5" constants="$6"
    mapfile -t args < <(includes function "${functions[@]}"; includes constant "${constants[@]}")
    jextract --output "$out" --target-package "$pkg" --header-class-name "$class" \
        -I "$include" -I "$cuda_home/include" "${args[@]}" "$include/$header"
    # Re-apply Tessera's two differences (see the top of this file).
    perl -0pi -e '
        s/public static final MemorySegment ADDR = \w+\.findOrThrow\("(\w+)"\);(\s*)public static final MethodHandle HANDLE = Linker\.nativeLinker\(\)\.downcallHandle\(ADDR, DESC\);/public static final MemorySegment ADDR = LIBRARY.find("$1");$2public static final MethodHandle HANDLE = LIBRARY.downcall("$1", ADDR, DESC);/g;
        s/(public (?:final )?class '"$class"'\b[^{]*\{)/$1\n    static final NativeLibrary LIBRARY = CudaLibraries.'"$library"';\n/;
    ' "$pkgdir/$class.java"
}

generate cuda_h DRIVER "$cuda_home/include" cuda.h DRIVER_FUNCTIONS DRIVER_CONSTANTS
generate cublas_api_h CUBLAS "$cublas_include" cublas_api.h CUBLAS_FUNCTIONS CUBLAS_CONSTANTS
generate nvrtc_h NVRTC "$nvrtc_include" nvrtc.h NVRTC_FUNCTIONS NVRTC_CONSTANTS
echo "regenerated $pkgdir/{cuda_h,cublas_api_h,nvrtc_h}.java; run the cuda-bindings tests (BindingsTest checks them against cuda.h)"
