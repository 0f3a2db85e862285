// Layer norm and RMS norm over the last axis of a contiguous [rows, n], with their gradients.
// Row kernels use one block per row; the weight/bias gradients reduce over rows per column.
#include "common.cuh"

// x [rows, n]; w, b [n] or null; y [rows, n]; mean, rstd [rows].
extern "C" __global__ void layernorm_rows(const float* x, const float* w, const float* b, float eps, float* y,
                                          float* mean, float* rstd, int rows, int n) {
    i64 row = blockIdx.x;
    const float* xr = x + row * n;
    float* yr = y + row * n;
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
    float mu = block_sum(s) / n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) { float d = xr[i] - mu; ss += d * d; }
    float var = block_sum(ss) / n;
    float r = 1.0f / sqrtf(var + eps);
    if (threadIdx.x == 0) { mean[row] = mu; rstd[row] = r; }
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = (xr[i] - mu) * r;
        if (w) v *= w[i];
        if (b) v += b[i];
        yr[i] = v;
    }
}

// dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat)) per row.
extern "C" __global__ void layernorm_backward_dx(const float* x, const float* w, const float* mean, const float* rstd,
                                                 const float* dy, float* dx, int rows, int n) {
    i64 row = blockIdx.x;
    const float* xr = x + row * n;
    const float* gr = dy + row * n;
    float mu = mean[row], r = rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float xhat = (xr[i] - mu) * r;
        float gw = w ? gr[i] * w[i] : gr[i];
        sg += gw;
        sgx += gw * xhat;
    }
    float meanG = block_sum(sg) / n, meanGX = block_sum(sgx) / n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float xhat = (xr[i] - mu) * r;
        float gw = w ? gr[i] * w[i] : gr[i];
        dx[row * n + i] = r * (gw - meanG - xhat * meanGX);
    }
}

// dw[j] = sum_r g*xhat, db[j] = sum_r g (either may be null); block (TS_COLUMN_TILE, TS_COLUMN_ROWS) covers TS_COLUMN_TILE columns.
extern "C" __global__ void layernorm_backward_params(const float* x, const float* mean, const float* rstd,
                                                     const float* dy, float* dw, float* db, int rows, int n) {
    __shared__ float sw[TS_COLUMN_ROWS][TS_COLUMN_TILE + 1];
    __shared__ float sb[TS_COLUMN_ROWS][TS_COLUMN_TILE + 1];
    int col = blockIdx.x * TS_COLUMN_TILE + threadIdx.x;
    float aw = 0.0f, ab = 0.0f;
    if (col < n) {
        for (int r = threadIdx.y; r < rows; r += blockDim.y) {
            i64 idx = (i64)r * n + col;
            float g = dy[idx];
            aw += g * (x[idx] - mean[r]) * rstd[r];
            ab += g;
        }
    }
    sw[threadIdx.y][threadIdx.x] = aw;
    sb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && col < n) {
        for (int k = 1; k < (int)blockDim.y; k++) { aw += sw[k][threadIdx.x]; ab += sb[k][threadIdx.x]; }
        if (dw) dw[col] = aw;
        if (db) db[col] = ab;
    }
}

// y = x * rsqrt(mean(x^2) + eps) * w; rstd [rows].
extern "C" __global__ void rmsnorm_rows(const float* x, const float* w, float eps, float* y, float* rstd,
                                        int rows, int n) {
    i64 row = blockIdx.x;
    const float* xr = x + row * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    float r = 1.0f / sqrtf(block_sum(ss) / n + eps);
    if (threadIdx.x == 0) rstd[row] = r;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = xr[i] * r;
        if (w) v *= w[i];
        y[row * n + i] = v;
    }
}

// dx = rstd * (g*w - xhat * mean(g*w*xhat)) per row.
extern "C" __global__ void rmsnorm_backward_dx(const float* x, const float* w, const float* rstd, const float* dy,
                                               float* dx, int rows, int n) {
    i64 row = blockIdx.x;
    const float* xr = x + row * n;
    const float* gr = dy + row * n;
    float r = rstd[row];
    float sgx = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float gw = w ? gr[i] * w[i] : gr[i];
        sgx += gw * xr[i] * r;
    }
    float meanGX = block_sum(sgx) / n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float gw = w ? gr[i] * w[i] : gr[i];
        dx[row * n + i] = r * (gw - xr[i] * r * meanGX);
    }
}

// dw[j] = sum_r g * x * rstd; block (TS_COLUMN_TILE, TS_COLUMN_ROWS) covers TS_COLUMN_TILE columns.
extern "C" __global__ void rmsnorm_backward_dw(const float* x, const float* rstd, const float* dy, float* dw,
                                               int rows, int n) {
    __shared__ float sw[TS_COLUMN_ROWS][TS_COLUMN_TILE + 1];
    int col = blockIdx.x * TS_COLUMN_TILE + threadIdx.x;
    float aw = 0.0f;
    if (col < n) {
        for (int r = threadIdx.y; r < rows; r += blockDim.y) {
            i64 idx = (i64)r * n + col;
            aw += dy[idx] * x[idx] * rstd[r];
        }
    }
    sw[threadIdx.y][threadIdx.x] = aw;
    __syncthreads();
    if (threadIdx.y == 0 && col < n) {
        for (int k = 1; k < (int)blockDim.y; k++) aw += sw[k][threadIdx.x];
        dw[col] = aw;
    }
}
