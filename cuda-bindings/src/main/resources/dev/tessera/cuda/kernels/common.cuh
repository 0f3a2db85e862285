// Helpers shared by Tessera's kernels. No system headers, so NVRTC compiles the kernels as they
// are (the loader passes this file to nvrtcCreateProgram as an in-memory header).
#pragma once

typedef long long i64;
typedef unsigned long long u64;

// Shapes and strides of strided operands, after the host merged contiguous dimensions.
// Both are plain arrays of 64-bit integers so the host can lay them out without padding rules.
#define TS_MAX_DIMS 8
struct Dims { i64 rank; i64 size[TS_MAX_DIMS]; };   // 72 bytes
struct Strides { i64 s[TS_MAX_DIMS]; };             // 64 bytes, in elements

// Launch sizes that shared-memory arrays are sized for. CudaBackend reads these lines (KernelConstants),
// so a kernel's tile and the host's launch come from one number.
#define TS_MAX_ROW_THREADS 1024    // threads of a one-block-per-row kernel (block reductions: one slot per warp)
#define TS_COLUMN_TILE 32          // columns one block of a column-sum kernel covers (threads in x)
#define TS_COLUMN_ROWS 8           // rows it sums at once (threads in y)
#define TS_MAX_QUANT_BLOCK 4096    // largest 8-bit quantization block (adamw8bit_step's shared state)

// dev.tessera.core.DType ordinals
enum { DT_F32 = 0, DT_BF16 = 1, DT_F16 = 2, DT_I64 = 3, DT_I32 = 4, DT_U8 = 5, DT_BOOL = 6 };

// Codes a kernel leaves in the backend's error word when an index is out of range.
enum { ERR_EMBEDDING_INDEX = 1, ERR_TARGET_INDEX = 2, ERR_SELECT_INDEX = 3, ERR_NONFINITE_QUANT = 4,
       ERR_NONFINITE_QUANT4 = 5 };

#define TS_NAN __int_as_float(0x7fffffff)

// The error word (24 bytes): int code, int unused, then two 64-bit details that the host puts in
// its message (the bad index and the bound it broke). The first error since the last check wins.
__device__ __forceinline__ void report_error(int* err, int code, i64 detail, i64 bound) {
    if (atomicCAS(err, 0, code) == 0) {
        ((i64*)err)[1] = detail;
        ((i64*)err)[2] = bound;
    }
}

__device__ __forceinline__ i64 global_index() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 grid_stride() { return (i64)gridDim.x * blockDim.x; }

// Element offsets of row-major linear index i in up to four operands of the same shape.
__device__ __forceinline__ void strided_offsets(i64 i, const Dims& d, const Strides& s0, const Strides& s1,
                                                const Strides& s2, const Strides& s3, i64* o) {
    o[0] = o[1] = o[2] = o[3] = 0;
    for (int k = (int)d.rank - 1; k >= 0; k--) {
        i64 size = d.size[k];
        i64 c = i % size;
        i /= size;
        o[0] += c * s0.s[k];
        o[1] += c * s1.s[k];
        o[2] += c * s2.s[k];
        o[3] += c * s3.s[k];
    }
}

// ---- 16-bit floats, bit-exact with dev.tessera.core.DType

__device__ __forceinline__ float bf16_to_float(unsigned short b) { return __uint_as_float(((unsigned)b) << 16); }

__device__ __forceinline__ unsigned short float_to_bf16(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu) != 0) {
        return (unsigned short)((u >> 16) | 0x0040u);   // quiet NaN
    }
    unsigned lsb = (u >> 16) & 1u;                      // round to nearest even
    return (unsigned short)((u + 0x7FFFu + lsb) >> 16);
}

// Inline PTX on the GPU; the emulated device (cuda-bindings/emulator/kernel.h) has C++ equivalents.
__device__ __forceinline__ float f16_to_float(unsigned short h) {
#ifdef TESSERA_CUDA_EMULATOR
    return tsemu_f16_to_float(h);
#else
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
#endif
}

__device__ __forceinline__ unsigned short float_to_f16(float f) {
#ifdef TESSERA_CUDA_EMULATOR
    return tsemu_float_to_f16(f);
#else
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
#endif
}

// ---- dtype-generic element access, with the CPU backend's conversion rules

// double -> i64 as Java's (long) and PTX's cvt.rzi.s64.f64: toward zero, saturating, NaN -> 0.
// Spelled out because the plain C++ cast is undefined out of range (and the emulated device runs
// these kernels as C++, where x86 gives INT64_MIN for NaN).
__device__ __forceinline__ i64 double_to_i64(double v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return 0x7fffffffffffffffLL;
    if (v <= -9223372036854775808.0) return (i64)0x8000000000000000ULL;
    return (i64)v;
}

__device__ double load_double(const void* p, int t, i64 i) {
    switch (t) {
        case DT_F32: return (double)((const float*)p)[i];
        case DT_BF16: return (double)bf16_to_float(((const unsigned short*)p)[i]);
        case DT_F16: return (double)f16_to_float(((const unsigned short*)p)[i]);
        case DT_I64: return (double)((const i64*)p)[i];
        case DT_I32: return (double)((const int*)p)[i];
        case DT_U8: return (double)((const unsigned char*)p)[i];
        default: return ((const unsigned char*)p)[i] != 0 ? 1.0 : 0.0;
    }
}

__device__ i64 load_long(const void* p, int t, i64 i) {
    switch (t) {
        case DT_I64: return ((const i64*)p)[i];
        case DT_I32: return (i64)((const int*)p)[i];
        case DT_U8: return (i64)((const unsigned char*)p)[i];
        case DT_BOOL: return ((const unsigned char*)p)[i] != 0 ? 1 : 0;
        default: return double_to_i64(load_double(p, t, i));
    }
}

__device__ void store_double(void* p, int t, i64 i, double v) {
    switch (t) {
        case DT_F32: ((float*)p)[i] = (float)v; break;
        case DT_BF16: ((unsigned short*)p)[i] = float_to_bf16((float)v); break;
        case DT_F16: ((unsigned short*)p)[i] = float_to_f16((float)v); break;
        case DT_I64: ((i64*)p)[i] = double_to_i64(v); break;
        case DT_I32: ((int*)p)[i] = (int)double_to_i64(v); break;
        case DT_U8: ((unsigned char*)p)[i] = (unsigned char)double_to_i64(v); break;
        default: ((unsigned char*)p)[i] = v != 0.0 ? 1 : 0; break;
    }
}

__device__ void store_long(void* p, int t, i64 i, i64 v) {
    switch (t) {
        case DT_I64: ((i64*)p)[i] = v; break;
        case DT_I32: ((int*)p)[i] = (int)v; break;
        case DT_U8: ((unsigned char*)p)[i] = (unsigned char)v; break;
        case DT_BOOL: ((unsigned char*)p)[i] = v != 0 ? 1 : 0; break;
        default: store_double(p, t, i, (double)v); break;
    }
}

// ---- block reductions (blockDim.x a multiple of 32, at most 1024)

__device__ __forceinline__ float warp_sum(float v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// max that lets NaN win, as the CPU backend's row max
__device__ __forceinline__ float nan_max(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    return fmaxf(a, b);
}

__device__ __forceinline__ float nan_min(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    return fminf(a, b);
}

__device__ __forceinline__ float warp_max(float v) {
    for (int off = 16; off > 0; off >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

__device__ __forceinline__ float warp_min(float v) {
    for (int off = 16; off > 0; off >>= 1) v = nan_min(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

// Sum over the block; every thread gets the result.
__device__ float block_sum(float v) {
    __shared__ float partial[TS_MAX_ROW_THREADS / 32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < warps ? partial[lane] : 0.0f;
    return warp_sum(v);
}

__device__ float block_max(float v) {
    __shared__ float partial[TS_MAX_ROW_THREADS / 32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < warps ? partial[lane] : -__int_as_float(0x7f800000);
    return warp_max(v);
}

__device__ float block_min(float v) {
    __shared__ float partial[TS_MAX_ROW_THREADS / 32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_min(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < warps ? partial[lane] : __int_as_float(0x7f800000);
    return warp_min(v);
}

// ---- blockwise 8-bit codes: the index of the 256-entry ascending map nearest to v, the lowest on a tie

__device__ __forceinline__ bool is_finite(float v) { return (__float_as_uint(v) & 0x7f800000u) != 0x7f800000u; }

// first index whose map value is >= v (256 if none)
__device__ __forceinline__ int lower_bound(const float* map, float v) {
    int lo = 0, hi = 256;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (map[mid] < v) lo = mid + 1; else hi = mid;
    }
    return lo;
}

__device__ __forceinline__ int nearest_code(const float* map, float v) {
    int hi = lower_bound(map, v);
    if (hi == 0) return 0;
    if (hi == 256) return lower_bound(map, map[255]);
    double below = (double)v - map[hi - 1];
    double above = (double)map[hi] - v;
    return below <= above ? lower_bound(map, map[hi - 1]) : hi;
}
