// Cross entropy per row of contiguous logits [rows, n] against I64 targets, one block per row.
#include "common.cuh"

#define INF __int_as_float(0x7f800000)

// loss[r] = lse - x[t] (0 where t == ignore); lse[r] = log(sum(exp(x))).
extern "C" __global__ void cross_entropy_rows(const float* logits, const i64* targets, i64 ignoreIndex, float* loss,
                                              float* lse, int rows, int n, int* err) {
    i64 row = blockIdx.x;
    const float* xr = logits + row * n;
    float m = -INF;
    for (int i = threadIdx.x; i < n; i += blockDim.x) m = nan_max(m, xr[i]);
    m = block_max(m);
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += expf(xr[i] - m);
    s = block_sum(s);
    if (threadIdx.x != 0) return;
    float l = (m == INF || m == -INF) ? m : m + logf(s);
    lse[row] = l;
    i64 t = targets[row];
    if (t == ignoreIndex) {
        loss[row] = 0.0f;
    } else if (t < 0 || t >= n) {
        loss[row] = TS_NAN;
        report_error(err, ERR_TARGET_INDEX, t, n);
    } else {
        loss[row] = l - xr[t];
    }
}

// dlogits = (exp(x - lse) - onehot(t)) * scale, zero rows where t == ignore.
extern "C" __global__ void cross_entropy_backward_rows(const float* logits, const i64* targets, const float* lse,
                                                       i64 ignoreIndex, float scale, float* dlogits, int rows, int n,
                                                       int* err) {
    i64 row = blockIdx.x;
    const float* xr = logits + row * n;
    float* dr = dlogits + row * n;
    i64 t = targets[row];
    bool ignored = t == ignoreIndex;
    if (!ignored && (t < 0 || t >= n)) {
        if (threadIdx.x == 0) report_error(err, ERR_TARGET_INDEX, t, n);
        ignored = true;
    }
    float l = lse[row];
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = ignored ? 0.0f : expf(xr[i] - l) * scale;
        if (!ignored && i == t) v -= scale;
        dr[i] = v;
    }
}
