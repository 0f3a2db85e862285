package dev.tessera.nn;

import dev.tessera.core.Tensor;

/**
 * What {@link Linear} and {@link Conv1D} share: a stored weight, an optional bias, and the one
 * {@link LinearOp} forward. They differ only in the weight's layout: {@code [out, in]} for
 * {@link Linear}, {@code [in, out]} for {@link Conv1D}.
 */
abstract sealed class DenseLinear extends Module implements LinearLayer permits Linear, Conv1D {
    /** As stored: {@code [out, in]} when {@link #outIn}, else {@code [in, out]}. */
    final Tensor weight;
    /** {@code [out]}, or null. */
    final Tensor bias;
    private final boolean outIn;

    /** Registers {@code weight} and, when not null, {@code bias} as the parameters "weight" and "bias". */
    DenseLinear(Tensor weight, Tensor bias, boolean outIn) {
        this.weight = addParameter("weight", weight);
        this.bias = bias == null ? null : addParameter("bias", bias);
        this.outIn = outIn;
    }

    // x (..., in) -> (..., out)
    @Override
    public final Tensor forward(Tensor x) {
        return LinearOp.forward(x, weight, bias, outIn);
    }

    @Override
    public final int inFeatures() {
        return weight.size(outIn ? 1 : 0);
    }

    @Override
    public final int outFeatures() {
        return weight.size(outIn ? 0 : 1);
    }

    /** The weight as {@code [out, in]}: the stored tensor, or a transposed view of a stored {@code [in, out]} one. */
    @Override
    public final Tensor weight() {
        return outIn ? weight : weight.t();
    }

    @Override
    public final Tensor bias() {
        return bias;
    }

    @Override
    protected String extraRepr() {
        return "in=" + inFeatures() + ", out=" + outFeatures();
    }
}
