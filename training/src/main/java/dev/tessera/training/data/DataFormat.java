package dev.tessera.training.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The layout of a training data file, named as on the command line ({@code --format}).
 *
 * <pre>{@code
 * DataFormat f = DataFormat.fromName("sharegpt");   // SHAREGPT
 * f.cliName();                                     // "sharegpt"
 * }</pre>
 */
public enum DataFormat {
    /** Detected from the first row's keys (a {@code .txt} file is {@link #TEXT}). */
    AUTO,
    /** {@code {"instruction", "input"?, "output"}} rows. */
    ALPACA,
    /** {@code {"conversations": [{"from": "human"|"gpt"|"system", "value"}]}} rows. */
    SHAREGPT,
    /** {@code {"messages": [{"role": "system"|"user"|"assistant"|"tool", "content"}]}} rows. */
    MESSAGES,
    /** Pre-tokenized {@code {"input_ids": [...], "labels": [...]?}} rows. */
    TOKENS,
    /** {@code {"text": ...}} rows, or a {@code .txt} file with one row per non-blank line. */
    TEXT;

    /** The command-line name: {@code auto}, {@code alpaca}, {@code sharegpt}, ... */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a command-line name, case-insensitively. */
    public static DataFormat fromName(String name) {
        for (DataFormat f : values()) {
            if (f.cliName().equalsIgnoreCase(name.strip())) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown data format \"" + name + "\"; expected one of "
                + Arrays.stream(values()).map(DataFormat::cliName).collect(Collectors.joining("|")));
    }

    /** Whether rows become text through a chat template (--chat-template matters). */
    public boolean usesChatTemplate() {
        return this == SHAREGPT || this == MESSAGES;
    }

    /** Whether, by default, only the response/assistant tokens are labelled. */
    boolean completionOnlyByDefault() {
        return this == ALPACA || this == SHAREGPT || this == MESSAGES;
    }
}
