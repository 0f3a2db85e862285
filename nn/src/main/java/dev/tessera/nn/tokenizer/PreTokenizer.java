package dev.tessera.nn.tokenizer;

import java.util.List;

/**
 * Cuts normalized text into the words that BPE then encodes one by one, as the pre-tokenizers of
 * HF's tokenizer.json ({@code ByteLevel}, {@code Split}, {@code Metaspace}, {@code Digits},
 * {@code Whitespace}, {@code WhitespaceSplit}, {@code Punctuation}, {@code Sequence}).
 */
sealed interface PreTokenizer {

    /** Receives pieces; {@code atStart} says the piece begins at offset 0 of the whole input. */
    @FunctionalInterface
    interface Sink {
        void accept(String piece, boolean atStart);
    }

    void split(String text, boolean atStart, Sink sink);

    /**
     * GPT-2's step: optionally a leading space, optionally the GPT-2 regex, then every piece
     * rewritten as its UTF-8 bytes' stand-in characters ({@link ByteMap}).
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        private static final SplitPattern GPT2 = SplitPattern.regex(ByteMap.GPT2_PATTERN);

        @Override
        public void split(String text, boolean atStart, Sink sink) {
            String spaced = addPrefixSpace && !text.startsWith(" ") ? " " + text : text;
            if (useRegex) {
                SplitBehavior.ISOLATED.split(spaced, atStart, GPT2, false,
                        (piece, first) -> sink.accept(ByteMap.toByteChars(piece), first));
            } else if (!spaced.isEmpty()) {
                sink.accept(ByteMap.toByteChars(spaced), atStart);
            }
        }
    }

    /** Llama-3 / Qwen2 style: split on a regex or literal, keeping or dropping the matches. */
    record Split(SplitPattern pattern, SplitBehavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(String text, boolean atStart, Sink sink) {
            behavior.split(text, atStart, pattern, invert, sink);
        }
    }

    /**
     * SentencePiece style: spaces become {@code replacement} (▁), which is prepended to every piece
     * ({@code always}), to the start of the input only ({@code first}) or never; then, if
     * {@code split}, the text is cut before each ▁.
     */
    record Metaspace(int replacement, Prepend prepend, boolean split) implements PreTokenizer {
        enum Prepend { ALWAYS, FIRST, NEVER }

        @Override
        public void split(String text, boolean atStart, Sink sink) {
            String rep = Character.toString(replacement);
            String replaced = text.replace(" ", rep);
            boolean prefix = switch (prepend) {
                case ALWAYS -> true;
                case FIRST -> atStart;
                case NEVER -> false;
            };
            if (prefix && !replaced.startsWith(rep)) {
                replaced = rep + replaced;
            }
            if (split) {
                SplitBehavior.MERGED_WITH_NEXT.split(replaced, atStart,
                        new SplitPattern.CodePoints(cp -> cp == replacement), false, sink);
            } else if (!replaced.isEmpty()) {
                sink.accept(replaced, atStart);
            }
        }
    }

    /** Numbers apart from the rest: each digit alone, or each run of digits together. */
    record Digits(boolean individualDigits) implements PreTokenizer {
        private static final SplitPattern NUMERIC = new SplitPattern.CodePoints(UnicodeProps::isNumeric);

        @Override
        public void split(String text, boolean atStart, Sink sink) {
            SplitBehavior behavior = individualDigits ? SplitBehavior.ISOLATED : SplitBehavior.CONTIGUOUS;
            behavior.split(text, atStart, NUMERIC, false, sink);
        }
    }

    /** Words ({@code \w+}) and runs of other non-space characters; whitespace dropped. */
    record Whitespace() implements PreTokenizer {
        private static final SplitPattern WORDS = SplitPattern.regex("\\w+|[^\\w\\s]+");

        @Override
        public void split(String text, boolean atStart, Sink sink) {
            SplitBehavior.REMOVED.split(text, atStart, WORDS, true, sink);
        }
    }

    /** Split on whitespace, which is dropped. */
    record WhitespaceSplit() implements PreTokenizer {
        private static final SplitPattern SPACE = new SplitPattern.CodePoints(UnicodeProps::isWhiteSpace);

        @Override
        public void split(String text, boolean atStart, Sink sink) {
            SplitBehavior.REMOVED.split(text, atStart, SPACE, false, sink);
        }
    }

    /** Split around punctuation characters. */
    record Punctuation(SplitBehavior behavior) implements PreTokenizer {
        private static final SplitPattern PUNCT = new SplitPattern.CodePoints(UnicodeProps::isPunctuation);

        @Override
        public void split(String text, boolean atStart, Sink sink) {
            behavior.split(text, atStart, PUNCT, false, sink);
        }
    }

    /** Each step splits every piece the previous step produced. */
    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(String text, boolean atStart, Sink sink) {
            splitFrom(0, text, atStart, sink);
        }

        private void splitFrom(int step, String text, boolean atStart, Sink sink) {
            if (step == steps.size()) {
                sink.accept(text, atStart);
            } else {
                steps.get(step).split(text, atStart, (piece, first) -> splitFrom(step + 1, piece, first, sink));
            }
        }
    }
}
