package dev.tessera.nn.tokenizer;

import java.util.List;
import java.util.regex.Matcher;

/**
 * Rewrites text before it is split into words, as the normalizers of HF's tokenizer.json
 * ({@code NFC}, {@code NFD}, {@code NFKC}, {@code NFKD}, {@code Lowercase}, {@code Prepend},
 * {@code Replace}, {@code Strip}, {@code Sequence}).
 */
sealed interface Normalizer {

    String normalize(String text);

    record UnicodeForm(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public String normalize(String text) {
            return java.text.Normalizer.normalize(text, form);
        }
    }

    /** Per code point, as Rust's {@code char::to_lowercase} (no locale, no final-sigma rule). */
    record Lowercase() implements Normalizer {
        @Override
        public String normalize(String text) {
            StringBuilder out = new StringBuilder(text.length());
            text.codePoints().forEach(cp -> {
                if (cp == 0x130) {
                    out.append("i\u0307");
                } else {
                    out.appendCodePoint(Character.toLowerCase(cp));
                }
            });
            return out.toString();
        }
    }

    /** Llama-2's {@code Prepend("▁")}: a prefix on every non-empty piece of text. */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String normalize(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    record Replace(SplitPattern pattern, String content) implements Normalizer {
        @Override
        public String normalize(String text) {
            return replaceAll(pattern, content, text);
        }
    }

    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String normalize(String text) {
            int start = 0;
            int end = text.length();
            while (left && start < end && UnicodeProps.isWhiteSpace(text.codePointAt(start))) {
                start += Character.charCount(text.codePointAt(start));
            }
            while (right && end > start && UnicodeProps.isWhiteSpace(text.codePointBefore(end))) {
                end -= Character.charCount(text.codePointBefore(end));
            }
            return text.substring(start, end);
        }
    }

    record Sequence(List<Normalizer> steps) implements Normalizer {
        @Override
        public String normalize(String text) {
            for (Normalizer step : steps) {
                text = step.normalize(text);
            }
            return text;
        }
    }

    /** Every match of {@code pattern} in {@code text} replaced by {@code content}, taken literally. */
    static String replaceAll(SplitPattern pattern, String content, String text) {
        return switch (pattern) {
            case SplitPattern.Literal l -> l.literal().isEmpty() ? text : text.replace(l.literal(), content);
            case SplitPattern.Regex r -> {
                boolean pin = r.pinned() != null && UnicodeProps.hasLetterOrNumberAfterUnicode14(text);
                yield (pin ? r.pinned() : r.pattern()).matcher(text).replaceAll(Matcher.quoteReplacement(content));
            }
            case SplitPattern.CodePoints c -> {
                StringBuilder out = new StringBuilder(text.length());
                text.codePoints().forEach(cp -> {
                    if (c.test().test(cp)) {
                        out.append(content);
                    } else {
                        out.appendCodePoint(cp);
                    }
                });
                yield out.toString();
            }
        };
    }
}
