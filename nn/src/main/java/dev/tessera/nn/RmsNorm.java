package dev.tessera.nn;

import dev.tessera.core.Tensor;

/** Llama's RMS norm over the last dimension, {@code x · rsqrt(mean(x²) + eps) · weight}, in F32 (fused op). */
public final class RmsNorm extends Module {
    private final Tensor weight;
    private final float eps;

    /** Weight ones when fresh. */
    public RmsNorm(ParameterSource source, int dim, float eps) {
        this.weight = addParameter("weight", source.tensor("weight", new int[] {dim}, Init.ones()));
        this.eps = eps;
    }

    // x (..., dim) -> (..., dim)
    public Tensor forward(Tensor x) {
        return x.rmsNorm(weight, eps);
    }

    @Override
    protected String extraRepr() {
        return weight.size(0) + ", eps=" + eps;
    }
}
