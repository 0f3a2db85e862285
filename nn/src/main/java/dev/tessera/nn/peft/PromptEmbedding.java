package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Embedding;
import dev.tessera.nn.Init;
import dev.tessera.nn.Module;
import dev.tessera.nn.ParameterSource;

/** PEFT's {@code PromptEmbedding}: N virtual token embeddings {@code [N, hidden]} put before the input's. */
final class PromptEmbedding extends Module {
    PromptEmbedding(int tokens, int hidden, Rng rng) {
        addModule("embedding", new Embedding(ParameterSource.random(rng), tokens, hidden, Init.normal(1)));
    }

    Tensor weight() {
        return child("embedding", Embedding.class).weight();
    }

    int numVirtualTokens() {
        return weight().size(0);
    }

    /** Copies rows {@code ids} of {@code table} (repeated or cut to N, as PEFT's TEXT init) into the embeddings. */
    void initFrom(Tensor table, int[] ids) {
        int n = numVirtualTokens();
        long[] picked = new long[n];
        for (int i = 0; i < n; i++) {
            picked[i] = ids[i % ids.length];
        }
        try (var ng = Autograd.noGrad()) {
            weight().copyFrom(table.embedding(Tensor.ofLongs(picked, n).to(table.device())));
        }
    }

    /** Random vocabulary ids, PEFT's SAMPLE_VOCAB init. */
    void initFromVocabulary(Tensor table, Rng rng) {
        int n = numVirtualTokens();
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) Math.floorMod(rng.nextLong(), (long) table.size(0));
        }
        initFrom(table, ids);
    }

    /** {@code [batch, N, hidden]}, a broadcast view. */
    Tensor prompts(int batch) {
        Tensor w = weight();
        return w.unsqueeze(0).expand(batch, w.size(0), w.size(1));
    }
}
