package dev.tessera.nn;

import dev.tessera.core.Tensor;

/** Layer norm over the last dimension with weight and bias {@code [dim]} (fused op). */
public final class LayerNorm extends Module {
    private final Tensor weight;
    private final Tensor bias;
    private final float eps;

    /** Weight ones and bias zeros when fresh. */
    public LayerNorm(ParameterSource source, int dim, float eps) {
        this.weight = addParameter("weight", source.tensor("weight", new int[] {dim}, Init.ones()));
        this.bias = addParameter("bias", source.tensor("bias", new int[] {dim}, Init.zeros()));
        this.eps = eps;
    }

    // x (..., dim) -> (..., dim)
    public Tensor forward(Tensor x) {
        return x.layerNorm(weight, bias, eps);
    }

    @Override
    protected String extraRepr() {
        return weight.size(0) + ", eps=" + eps;
    }
}
