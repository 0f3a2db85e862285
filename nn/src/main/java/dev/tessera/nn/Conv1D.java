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
public final class Conv1D extends DenseLinear {
    /** Weight {@code [in, out]} from {@code source} (filled by {@code weightInit} when fresh), bias zeros. */
    public Conv1D(ParameterSource source, int in, int out, Init weightInit) {
        if (in <= 0 || out <= 0) {
            throw new TesseraException("Conv1D: sizes must be positive, got in=" + in + " out=" + out);
        }
        super(source.tensor("weight", new int[] {in, out}, weightInit), source.tensor("bias", new int[] {out}, Init.zeros()), false);
    }

    /** The stored weight, {@code [in, out]} as in the checkpoint. */
    public Tensor storedWeight() {
        return weight;
    }
}
