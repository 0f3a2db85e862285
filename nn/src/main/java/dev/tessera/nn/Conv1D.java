package dev.tessera.nn;

import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;

/**
 * GPT-2's {@code Conv1D}: a linear layer whose weight is stored {@code [in, out]} (so
 * {@code y = x · W + b}), kept in that layout so checkpoints load and save unchanged. LoRA
 * treats it as {@code fan_in_fan_out}.
 *
 * <pre>{@code
 * Conv1D cAttn = (Conv1D) model.getSubmodule("transformer.h.0.attn.c_attn");
 * Tensor w = cAttn.weight();           // [3C, C] view of the stored [C, 3C]
 * }</pre>
 */
public final class Conv1D extends Module implements LinearLayer {
    private final Tensor weight; // [in, out]
    private final Tensor bias;   // [out]

    /** Weight {@code [in, out]} from {@code source} (filled by {@code weightInit} when fresh), bias zeros. */
    public Conv1D(ParameterSource source, int in, int out, Init weightInit) {
        if (in <= 0 || out <= 0) {
            throw new TesseraException("Conv1D: sizes must be positive, got in=" + in + " out=" + out);
        }
        this.weight = addParameter("weight", source.tensor("weight", new int[] {in, out}, weightInit));
        this.bias = addParameter("bias", source.tensor("bias", new int[] {out}, Init.zeros()));
    }

    // x (..., in) -> (..., out)
    @Override
    public Tensor forward(Tensor x) {
        return LinearOp.forward(x, weight, bias, false);
    }

    @Override
    public int inFeatures() {
        return weight.size(0);
    }

    @Override
    public int outFeatures() {
        return weight.size(1);
    }

    /** The weight as {@code [out, in]}: a transposed view of the stored {@code [in, out]} tensor. */
    @Override
    public Tensor weight() {
        return weight.t();
    }

    /** The stored weight, {@code [in, out]} as in the checkpoint. */
    public Tensor storedWeight() {
        return weight;
    }

    @Override
    public Tensor bias() {
        return bias;
    }

    @Override
    protected String extraRepr() {
        return "in=" + inFeatures() + ", out=" + outFeatures();
    }
}
