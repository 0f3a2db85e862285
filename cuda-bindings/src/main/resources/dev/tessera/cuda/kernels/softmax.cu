// Row-wise softmax and log-softmax of a contiguous [rows, n], one block per row.
#include "common.cuh"

#define INF __int_as_float(0x7f800000)

extern "C" __global__ void softmax_rows(const float* x, float* out, int rows, int n, int logSoftmax) {
    i64 base = (i64)blockIdx.x * n;
    const float* xr = x + base;
    float* orow = out + base;
    float m = -INF;
    for (int i = threadIdx.x; i < n; i += blockDim.x) m = nan_max(m, xr[i]);
    m = block_max(m);
    if (!logSoftmax && m == -INF) {
        // every entry masked: PyTorch yields a NaN row
        for (int i = threadIdx.x; i < n; i += blockDim.x) orow[i] = TS_NAN;
        return;
    }
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += expf(xr[i] - m);
    s = block_sum(s);
    if (logSoftmax) {
        float lse = (m == INF || m == -INF) ? m : m + logf(s);
        for (int i = threadIdx.x; i < n; i += blockDim.x) orow[i] = xr[i] - lse;
    } else {
        float inv = 1.0f / s;
        for (int i = threadIdx.x; i < n; i += blockDim.x) orow[i] = expf(xr[i] - m) * inv;
    }
}

// softmax: dx = y * (dy - sum(dy * y)); log-softmax: dx = dy - exp(y) * sum(dy).
extern "C" __global__ void softmax_backward_rows(const float* y, const float* dy, float* dx, int rows, int n,
                                                 int logSoftmax) {
    i64 base = (i64)blockIdx.x * n;
    const float* yr = y + base;
    const float* gr = dy + base;
    float* dr = dx + base;
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += logSoftmax ? gr[i] : gr[i] * yr[i];
    s = block_sum(s);
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        dr[i] = logSoftmax ? gr[i] - expf(yr[i]) * s : yr[i] * (gr[i] - s);
    }
}
