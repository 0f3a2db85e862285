package dev.tessera.nn.tokenizer;

import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a Split, Replace or Digits step looks for, as HF's {@code Pattern}: a regex, a literal
 * string, or a class of code points (each matching code point is its own match).
 */
sealed interface SplitPattern {

    /**
     * Appends (start, end, isMatch) triplets that cover {@code text} in order, alternating gaps
     * and matches, as HF's {@code Pattern::find_matches} (isMatch is 1 or 0; empty gaps omitted).
     */
    void findMatches(String text, IntList out);

    /**
     * Compiles an HF (Oniguruma) regex. {@code \s}, {@code \w} and case folding are Unicode-wide
     * there, so the Java pattern gets {@link Pattern#UNICODE_CHARACTER_CLASS}; and {@code \p{L}},
     * {@code \p{N}} (and {@code \P{..}}) are narrowed to HF's Unicode 14 tables, so that letters
     * added since do not pre-tokenize differently from the tokenizer a model was trained with.
     */
    static SplitPattern regex(String source) {
        String pinned = pinUnicodeVersion(source);
        return new Regex(Pattern.compile(source, Pattern.UNICODE_CHARACTER_CLASS),
                pinned.equals(source) ? null : Pattern.compile(pinned, Pattern.UNICODE_CHARACTER_CLASS));
    }

    /** Rewrites {@code \p{L}} as {@code [\p{L}&&[^newer]]} and {@code \P{L}} as {@code [\P{L}newer]}; likewise N. */
    static String pinUnicodeVersion(String source) {
        String newer = UnicodeProps.LETTERS_NUMBERS_AFTER_UNICODE_14_CLASS;
        StringBuilder out = new StringBuilder(source.length() + 64);
        for (int i = 0; i < source.length(); i++) {
            char c = source.charAt(i);
            if (c != '\\' || i + 1 == source.length()) {
                out.append(c);
                continue;
            }
            String rest = source.substring(i + 1, Math.min(source.length(), i + 5));
            switch (rest) {
                case "p{L}", "p{N}" -> out.append("[\\").append(rest).append("&&[^").append(newer).append("]]");
                case "P{L}", "P{N}" -> out.append("[\\").append(rest).append(newer).append(']');
                default -> {
                    out.append(c).append(source.charAt(i + 1));
                    i++;
                    continue;
                }
            }
            i += 4;
        }
        return out.toString();
    }

    /**
     * A regex as written, and its version pinned to HF's Unicode tables (null when the same). The
     * pinned one is much slower in Java and only differs on rare code points, so it runs only on
     * text that holds one.
     */
    record Regex(Pattern pattern, Pattern pinned) implements SplitPattern {
        @Override
        public void findMatches(String text, IntList out) {
            boolean pin = pinned != null && UnicodeProps.hasLetterOrNumberAfterUnicode14(text);
            Matcher m = (pin ? pinned : pattern).matcher(text);
            int prev = 0;
            while (m.find()) {
                if (m.start() != prev) {
                    triplet(out, prev, m.start(), false);
                }
                triplet(out, m.start(), m.end(), true);
                prev = m.end();
            }
            if (prev != text.length()) {
                triplet(out, prev, text.length(), false);
            }
        }
    }

    record Literal(String literal) implements SplitPattern {
        @Override
        public void findMatches(String text, IntList out) {
            if (literal.isEmpty()) {
                triplet(out, 0, text.length(), false);
                return;
            }
            int prev = 0;
            for (int at = text.indexOf(literal); at >= 0; at = text.indexOf(literal, prev)) {
                if (at != prev) {
                    triplet(out, prev, at, false);
                }
                triplet(out, at, at + literal.length(), true);
                prev = at + literal.length();
            }
            if (prev != text.length()) {
                triplet(out, prev, text.length(), false);
            }
        }
    }

    record CodePoints(IntPredicate test) implements SplitPattern {
        @Override
        public void findMatches(String text, IntList out) {
            int prev = 0;
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                int next = i + Character.charCount(cp);
                if (test.test(cp)) {
                    if (prev < i) {
                        triplet(out, prev, i, false);
                    }
                    triplet(out, i, next, true);
                    prev = next;
                }
                i = next;
            }
            if (prev < text.length()) {
                triplet(out, prev, text.length(), false);
            }
        }
    }

    private static void triplet(IntList out, int start, int end, boolean match) {
        out.add(start);
        out.add(end);
        out.add(match ? 1 : 0);
    }
}
