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
