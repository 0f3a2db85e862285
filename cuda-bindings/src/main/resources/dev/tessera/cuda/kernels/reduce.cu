// Reductions of a contiguous x viewed as [outer, n, inner] over the middle axis.
// NaN wins MAX and MIN; ARGMAX returns the first NaN, else the first maximum (as PyTorch).
#include "common.cuh"

// dev.tessera.core.Backend.ReduceOp, by name.
enum { ROP_SUM = 0, ROP_MAX = 1, ROP_MIN = 2, ROP_ARGMAX = 3 };

// True when (v2, i2) beats (v1, i1) for ARGMAX.
__device__ __forceinline__ bool argmax_better(float v1, i64 i1, float v2, i64 i2) {
    if (v1 != v1) return v2 != v2 && i2 < i1;
    if (v2 != v2) return true;
    if (v2 > v1) return true;
    return v2 == v1 && i2 < i1;
}

// inner == 1: one block per row of n. out is F32 [rows], or I64 for ARGMAX.
extern "C" __global__ void reduce_rows(int op, const float* x, void* out, int rows, int n) {
    i64 row = blockIdx.x;
    const float* xr = x + row * n;
    if (op == ROP_ARGMAX) {
        __shared__ float bestValue[TS_MAX_ROW_THREADS / 32];
        __shared__ i64 bestIndex[TS_MAX_ROW_THREADS / 32];
        float v = -__int_as_float(0x7f800000);
        i64 at = 0x7fffffffffffffffLL;
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            if (argmax_better(v, at, xr[i], i)) { v = xr[i]; at = i; }
        }
        for (int off = 16; off > 0; off >>= 1) {
            float v2 = __shfl_xor_sync(0xffffffffu, v, off);
            i64 a2 = __shfl_xor_sync(0xffffffffu, at, off);
            if (argmax_better(v, at, v2, a2)) { v = v2; at = a2; }
        }
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        if (lane == 0) { bestValue[warp] = v; bestIndex[warp] = at; }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < (int)((blockDim.x + 31) >> 5); w++) {
                if (argmax_better(v, at, bestValue[w], bestIndex[w])) { v = bestValue[w]; at = bestIndex[w]; }
            }
            ((i64*)out)[row] = at == 0x7fffffffffffffffLL ? 0 : at;
        }
        return;
    }
    float acc;
    if (op == ROP_SUM) {
        acc = 0.0f;
        for (int i = threadIdx.x; i < n; i += blockDim.x) acc += xr[i];
        acc = block_sum(acc);
    } else if (op == ROP_MAX) {
        acc = -__int_as_float(0x7f800000);
        for (int i = threadIdx.x; i < n; i += blockDim.x) acc = nan_max(acc, xr[i]);
        acc = block_max(acc);
    } else {
        acc = __int_as_float(0x7f800000);
        for (int i = threadIdx.x; i < n; i += blockDim.x) acc = nan_min(acc, xr[i]);
        acc = block_min(acc);
    }
    if (threadIdx.x == 0) ((float*)out)[row] = acc;
}

// inner > 1: one thread per output element, walking n with stride inner (coalesced over inner).
extern "C" __global__ void reduce_cols(int op, const float* x, void* out, int outer, int n, int inner) {
    i64 total = (i64)outer * inner;
    for (i64 e = global_index(); e < total; e += grid_stride()) {
        i64 o = e / inner, j = e % inner;
        const float* base = x + o * (i64)n * inner + j;
        if (op == ROP_SUM) {
            float acc = 0.0f;
            for (int i = 0; i < n; i++) acc += base[(i64)i * inner];
            ((float*)out)[e] = acc;
            continue;
        }
        float best = base[0];
        int bestAt = 0;
        for (int i = 1; i < n; i++) {
            float v = base[(i64)i * inner];
            bool better = op == ROP_MIN ? v < best : v > best;
            if (better || (v != v && best == best)) { best = v; bestAt = i; }
        }
        if (op == ROP_ARGMAX) ((i64*)out)[e] = bestAt;
        else ((float*)out)[e] = best;
    }
}
