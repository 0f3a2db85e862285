package dev.tessera.training.data;

import java.util.List;

/** One usable row of a data file, by format, with the line it started on. */
sealed interface Row {
    long line();

    /** {@code {"instruction", "input"?, "output"}}; a missing or null input is empty. */
    record Alpaca(long line, String instruction, String input, String output) implements Row {}

    /** ShareGPT and messages rows alike, as a list of turns. */
    record Chat(long line, List<Message> messages) implements Row {}

    /** Pre-tokenized ids; labels are the ids themselves when the row gives none. */
    record Tokens(long line, int[] inputIds, int[] labels) implements Row {}

    /** Plain text for causal language modelling. */
    record Text(long line, String text) implements Row {}
}
