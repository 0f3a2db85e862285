package dev.tessera.examples.cli;

import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.tokenizer.Tokenizer;
import dev.tessera.training.data.ChatTemplate;
import dev.tessera.training.data.DataFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.tessera.training.data.DataOptions;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** The data flags shared by score and train: --format, --max-length, --chat-template, --completion-only. */
public final class DataFlags {
    @Option(names = "--format", defaultValue = "auto", converter = Formats.class, paramLabel = "auto|tokens|alpaca|sharegpt|messages|text",
            description = "Row format (default: detected from the first row).")
    DataFormat format;

    /** A data format by its command-line name, in any case. */
    static final class Formats implements ITypeConverter<DataFormat> {
        @Override
        public DataFormat convert(String value) {
            try {
                return DataFormat.fromName(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("expected auto, tokens, alpaca, sharegpt, messages or text, got '" + value + "'");
            }
        }
    }

    @Option(names = "--max-length", paramLabel = "N", description = "Truncate examples to N tokens (default: the smaller of 1024 and the model's context length).")
    Integer maxLength;

    @Option(names = "--chat-template", paramLabel = "NAME", description = "chatml, llama-2, llama-3, zephyr or alpaca (default: the model's own, else chatml).")
    String chatTemplate;

    @Option(names = "--completion-only", paramLabel = "true|false", arity = "1",
            description = "Train/score only the responses of instruction and chat data (default: true).")
    Boolean completionOnly;

    @Option(names = "--skip-bad-rows", description = "Skip rows that cannot be read (and report how many) instead of failing.")
    boolean skipBadRows;

    /**
     * The options for data read with {@code tokenizer}; the chat template falls back to the model
     * folder's own, the maximum length to the smaller of 1024 and the model's {@code contextLength}.
     */
    DataOptions options(Tokenizer tokenizer, Path modelDir, int contextLength) {
        DataOptions o = DataOptions.defaults();
        if (chatTemplate != null) {
            if (!ChatTemplate.names().contains(chatTemplate)) {
                throw new UsageException("--chat-template: expected one of " + ChatTemplate.names() + ", got '" + chatTemplate + "'");
            }
            o = o.withChatTemplate(ChatTemplate.named(chatTemplate, tokenizer));
        } else if (hasOwnTemplate(modelDir)) {
            o = o.withChatTemplate(ChatTemplate.fromTokenizerConfig(modelDir.resolve("tokenizer_config.json")));
        }
        o = o.withFormat(format);
        if (maxLength != null) {
            if (maxLength < 2) {
                throw new UsageException("--max-length must be >= 2, got " + maxLength);
            }
            if (contextLength > 0 && maxLength > contextLength) {
                throw new UsageException("--max-length " + maxLength + " is longer than the model's context of " + contextLength + " tokens");
            }
            o = o.withMaxLength(maxLength);
        } else if (contextLength > 0) {
            o = o.withMaxLength(Math.min(DataOptions.DEFAULT_MAX_LENGTH, contextLength));
        }
        if (completionOnly != null) {
            o = o.withCompletionOnly(completionOnly);
        }
        return o.withSkipBadRows(skipBadRows);
    }

    private static boolean hasOwnTemplate(Path modelDir) {
        Path config = modelDir.resolve("tokenizer_config.json");
        try {
            return Files.isRegularFile(config)
                    && (Files.readString(config).contains("\"chat_template\"") || Files.isRegularFile(modelDir.resolve("chat_template.jinja")));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
