package dev.tessera.nn.tokenizer;

import java.util.OptionalInt;

/**
 * Text to token ids and back, as Hugging Face's tokenizers do for the same files.
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizers.load(Path.of("models/gpt2"));
 * int[] ids = tok.encode("Hello world");   // [15496, 995]
 * String text = tok.decode(ids);           // "Hello world"
 * }</pre>
 *
 * <p>Implementations are immutable and safe to share between threads.
 */
public interface Tokenizer {
    /** Encodes text without adding BOS/EOS; special tokens written in the text are recognised. */
    int[] encode(String text);

    /**
     * Decodes ids back to text, special tokens included; ids that name no token are skipped, as in
     * Hugging Face. For byte-level BPE {@code decode(encode(s)).equals(s)} for every string without
     * lone surrogates (which UTF-8 cannot carry: they come back as U+FFFD).
     */
    String decode(int[] ids);

    /** Vocabulary size including added tokens. */
    int vocabSize();

    /**
     * The id of a token string (e.g. "<|endoftext|>"), if the vocabulary has it. The default
     * knows no token strings: a tokenizer without named tokens has nothing to look up.
     */
    default OptionalInt tokenId(String token) {
        return OptionalInt.empty();
    }

    /** Beginning-of-sequence id, if the tokenizer defines one; none by default. */
    default OptionalInt bosId() {
        return OptionalInt.empty();
    }

    /** End-of-sequence id, if the tokenizer defines one; none by default. */
    default OptionalInt eosId() {
        return OptionalInt.empty();
    }

    /**
     * Padding id, if defined (none by default); trainers fall back to EOS as Hugging Face users
     * usually do.
     */
    default OptionalInt padId() {
        return OptionalInt.empty();
    }
}
