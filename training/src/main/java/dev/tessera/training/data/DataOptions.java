package dev.tessera.training.data;

import java.util.Objects;

/**
 * How a data file becomes training examples; the command line's data flags, one for one.
 *
 * <pre>{@code
 * DataOptions options = DataOptions.defaults()
 *         .withFormat(DataFormat.ALPACA)          // --format alpaca
 *         .withMaxLength(512)                     // --max-length 512
 *         .withPacking(true)                      // --packing
 *         .withSkipBadRows(true);
 * }</pre>
 *
 * @param format the file's format; {@link DataFormat#AUTO} detects it from the first row
 * @param chatTemplate how ShareGPT and messages rows become text; null means ChatML
 * @param maxLength examples are cut to this many tokens (from the right), and packed rows hold at most this many
 * @param completionOnly whether only responses/assistant turns are labelled; null means the
 *     format's default: on for Alpaca, ShareGPT and messages, meaningless for text and tokens
 * @param packing whether short examples are packed together into rows of up to {@code maxLength}
 * @param skipBadRows whether unusable rows are skipped (and counted) rather than an error
 * @param addBos whether BOS starts Alpaca and text examples; null means "when the tokenizer
 *     has a BOS distinct from its EOS" (Llama yes, GPT-2 no), as their HF tokenizers do
 */
public record DataOptions(
        DataFormat format,
        ChatTemplate chatTemplate,
        int maxLength,
        Boolean completionOnly,
        boolean packing,
        boolean skipBadRows,
        Boolean addBos) {

    /** TRL's SFTConfig default {@code max_length}. */
    public static final int DEFAULT_MAX_LENGTH = 1024;

    public DataOptions {
        Objects.requireNonNull(format, "format");
        if (maxLength < 1) {
            throw new IllegalArgumentException("max length must be at least 1, got " + maxLength);
        }
    }

    /** Auto-detected format, ChatML, 1024 tokens, format-default masking, no packing, strict rows. */
    public static DataOptions defaults() {
        return new DataOptions(DataFormat.AUTO, null, DEFAULT_MAX_LENGTH, null, false, false, null);
    }

    public DataOptions withFormat(DataFormat format) {
        return new DataOptions(format, chatTemplate, maxLength, completionOnly, packing, skipBadRows, addBos);
    }

    public DataOptions withChatTemplate(ChatTemplate chatTemplate) {
        return new DataOptions(format, chatTemplate, maxLength, completionOnly, packing, skipBadRows, addBos);
    }

    public DataOptions withMaxLength(int maxLength) {
        return new DataOptions(format, chatTemplate, maxLength, completionOnly, packing, skipBadRows, addBos);
    }

    public DataOptions withCompletionOnly(boolean completionOnly) {
        return new DataOptions(format, chatTemplate, maxLength, completionOnly, packing, skipBadRows, addBos);
    }

    public DataOptions withPacking(boolean packing) {
        return new DataOptions(format, chatTemplate, maxLength, completionOnly, packing, skipBadRows, addBos);
    }

    public DataOptions withSkipBadRows(boolean skipBadRows) {
        return new DataOptions(format, chatTemplate, maxLength, completionOnly, packing, skipBadRows, addBos);
    }

    public DataOptions withAddBos(boolean addBos) {
        return new DataOptions(format, chatTemplate, maxLength, completionOnly, packing, skipBadRows, addBos);
    }
}
