package dev.tessera.nn;

import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;

/**
 * A lookup table {@code weight [num, dim]}: ids of any shape to vectors {@code [..., dim]}.
 *
 * <pre>{@code
 * Embedding wte = new Embedding(ParameterSource.random(new Rng(0)), 50257, 768, Init.normal(0.02));
 * Tensor h = wte.forward(Tensor.ofInts(new int[] {15496, 995}, 1, 2));   // [1, 2, 768]
 * }</pre>
 */
public final class Embedding extends Module {
    private final Tensor weight;

    public Embedding(ParameterSource source, int num, int dim, Init init) {
        if (num <= 0 || dim <= 0) {
            throw new TesseraException("Embedding: sizes must be positive, got num=" + num + " dim=" + dim);
        }
        this.weight = addParameter("weight", source.tensor("weight", new int[] {num, dim}, init));
    }

    // ids (...) I64 -> (..., dim)
    public Tensor forward(Tensor ids) {
        return weight.embedding(ids);
    }

    /** The table {@code [num, dim]}. */
    public Tensor weight() {
        return weight;
    }

    public int numEmbeddings() {
        return weight.size(0);
    }

    public int embeddingDim() {
        return weight.size(1);
    }

    @Override
    protected String extraRepr() {
        return numEmbeddings() + ", " + embeddingDim();
    }
}
