// One AdamW step in place, as PyTorch's single-tensor AdamW (and the CPU backend):
//   p *= decay;  m = lerp(m, g, w1);  v = b2 v + w2 g^2;  p += negStepSize * m / (sqrt(v) / bc2Sqrt + eps)
// with decay = 1 - lr*wd, w1 = 1 - b1, w2 = 1 - b2, negStepSize = -lr / (1 - b1^t),
// bc2Sqrt = sqrt(1 - b2^t), computed on the host in double and rounded once.
#include "common.cuh"

extern "C" __global__ void adamw_step(float* p, const float* g, float* m, float* v, i64 n, float decay, float w1,
                                      float beta2, float w2, float eps, float negStepSize, float bc2Sqrt) {
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        float gi = g[i];
        float mi = m[i];
        mi = mi + w1 * (gi - mi);
        float vi = v[i] * beta2 + w2 * gi * gi;
        float denom = sqrtf(vi) / bc2Sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay + negStepSize * mi / denom;
    }
}

// bitsandbytes' 8-bit AdamW, one block of threads per quantization block (blocksize <= TS_MAX_QUANT_BLOCK): decode m
// (signed map) and v (unsigned map), the F32 AdamW update of adamw_step, re-encode with the new absmax.
extern "C" __global__ void adamw8bit_step(float* p, const float* g, unsigned char* mc, float* ma, unsigned char* vc,
                                          float* va, const float* smap, const float* umap, int blocksize, i64 n,
                                          float decay, float w1, float beta2, float w2, float eps, float negStepSize,
                                          float bc2Sqrt, int* error) {
    __shared__ float sm[TS_MAX_QUANT_BLOCK];
    __shared__ float sv[TS_MAX_QUANT_BLOCK];
    i64 start = (i64)blockIdx.x * blocksize;
    i64 end = start + blocksize < n ? start + blocksize : n;
    float oldM = ma[blockIdx.x], oldV = va[blockIdx.x];
    float mMax = 0.0f, vMax = 0.0f;
    int bad = 0;
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
        float gi = g[i];
        float mi = smap[mc[i]] * oldM;
        float vi = umap[vc[i]] * oldV;
        mi = mi + w1 * (gi - mi);
        vi = vi * beta2 + w2 * gi * gi;
        float denom = sqrtf(vi) / bc2Sqrt + eps;
        p[i] = p[i] * decay + negStepSize * mi / denom;
        sm[i - start] = mi;
        sv[i - start] = vi;
        if (!is_finite(mi) || !is_finite(vi)) bad = 1;
        mMax = fmaxf(mMax, fabsf(mi));
        vMax = fmaxf(vMax, fabsf(vi));
    }
    mMax = block_max(mMax);
    vMax = block_max(vMax);
    if (bad) atomicCAS(error, 0, ERR_NONFINITE_QUANT);
    if (threadIdx.x == 0) {
        ma[blockIdx.x] = mMax;
        va[blockIdx.x] = vMax;
    }
    __syncthreads();
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
        mc[i] = (unsigned char)nearest_code(smap, mMax == 0.0f ? 0.0f : sm[i - start] / mMax);
        vc[i] = (unsigned char)nearest_code(umap, vMax == 0.0f ? 0.0f : sv[i - start] / vMax);
    }
}
