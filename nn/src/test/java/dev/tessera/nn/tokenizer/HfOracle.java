package dev.tessera.nn.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;

/** Hugging Face's Rust tokenizers (through DJL's bindings) on a tokenizer.json: the parity oracle. */
final class HfOracle implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;

    private HfOracle(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** The tokenizer.json in {@code dir}, encoding without special tokens and without truncation. */
    static HfOracle load(Path dir) {
        try {
            return new HfOracle(HuggingFaceTokenizer.builder()
                    .optTokenizerPath(dir)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int[] encode(String text) {
        return Arrays.stream(tokenizer.encode(text, false, false).getIds()).mapToInt(id -> (int) id).toArray();
    }

    /** Decodes keeping special tokens, as {@link Tokenizer#decode} does. */
    String decode(int[] ids) {
        return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), false);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
