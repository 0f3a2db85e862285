package dev.tessera.nn.peft;

import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Embedding;
import dev.tessera.nn.Init;
import dev.tessera.nn.Linear;
import dev.tessera.nn.Module;
import dev.tessera.nn.ParameterSource;

/**
 * PEFT's {@code PrefixEncoder}: the per-layer key/value prefixes as one table
 * {@code [N, layers·2·kvHeads·headDim]}, either learned directly ({@code embedding}) or made by
 * the reparameterisation MLP {@code transform = Linear - Tanh - Linear} from a smaller
 * {@code embedding [N, token_dim]}. A row holds layer 0's keys, layer 0's values, layer 1's
 * keys, ... each as {@code [kvHeads, headDim]}.
 */
final class PrefixEncoder extends Module {
    private final int tokens, layers, kvHeads, headDim;
    private final boolean projection;

    PrefixEncoder(int tokens, int layers, int kvHeads, int headDim, boolean projection, int hidden, Rng rng) {
        this.tokens = tokens;
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.projection = projection;
        int tokenDim = kvHeads * headDim;
        int width = layers * 2 * tokenDim;
        ParameterSource src = ParameterSource.random(rng);
        // nn.Embedding's default init, N(0, 1)
        addModule("embedding", new Embedding(src, tokens, projection ? tokenDim : width, Init.normal(1)));
        if (projection) {
            Transform t = addModule("transform", new Transform());
            t.put("0", new Linear(tokenDim, hidden, true, rng));
            t.put("2", new Linear(hidden, width, true, rng));
        }
    }

    /** {@code torch.nn.Sequential(Linear, Tanh, Linear)}: children "0" and "2", as PyTorch names them. */
    static final class Transform extends Module {
        void put(String name, Linear l) {
            addModule(name, l);
        }

        // e (N, token_dim) -> (N, hidden) -> (N, layers·2·token_dim)
        Tensor forward(Tensor e) {
            return child("2", Linear.class).forward(child("0", Linear.class).forward(e).tanh());
        }
    }

    int numVirtualTokens() {
        return tokens;
    }

    boolean hasProjection() {
        return projection;
    }

    /** The prefix table {@code [N, layers·2·tokenDim]}: what PEFT saves as {@code prompt_embeddings}. */
    Tensor table() {
        Tensor e = child("embedding", Embedding.class).weight();
        if (!projection) {
            return e;
        }
        return child("transform", Transform.class).forward(e);
    }

    /** Keys and values per layer, each {@code [batch, kvHeads, N, headDim]} (a broadcast view over the batch). */
    Tensor[][] keysValues(int batch) {
        // (N, L·2·H·D) -> (N, L·2, H, D) -> (L·2, H, N, D)
        Tensor p = table().reshape(tokens, layers * 2, kvHeads, headDim).permute(1, 2, 0, 3);
        Tensor[] keys = new Tensor[layers];
        Tensor[] values = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            keys[i] = p.narrow(0, 2 * i, 1).expand(batch, kvHeads, tokens, headDim);
            values[i] = p.narrow(0, 2 * i + 1, 1).expand(batch, kvHeads, tokens, headDim);
        }
        return new Tensor[][] {keys, values};
    }

    @Override
    protected String extraRepr() {
        return "tokens=" + tokens + ", layers=" + layers + ", kvHeads=" + kvHeads + ", headDim=" + headDim + ", projection=" + projection;
    }
}
