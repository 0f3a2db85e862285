package dev.tessera.nn.tokenizer;

/**
 * Character classes as Rust's {@code char} methods define them, which is what Hugging Face's
 * tokenizers consult ({@code char::is_whitespace}, {@code is_numeric}, {@code is_alphanumeric}).
 * Java's {@link Character#isWhitespace} is a different set, hence these.
 */
final class UnicodeProps {
    /**
     * Code points that Java (Unicode 16) calls letters or numbers but HF tokenizers' Oniguruma
     * regex tables (Unicode 14) do not: the letters and digits added in Unicode 15 and 16 (CJK
     * extensions H and I, Kawi, Garay, Egyptian hieroglyphs extended A, ...). Measured against
     * HF's tokenizers over every code point. Inclusive (first, last) pairs, ascending.
     */
    private static final int[] LETTERS_NUMBERS_AFTER_UNICODE_14 = {
            0x1C89, 0x1C8A, 0xA7CB, 0xA7CD, 0xA7DA, 0xA7DC, 0x105C0, 0x105F3, 0x10D40, 0x10D65,
            0x10D6F, 0x10D85, 0x10EC2, 0x10EC4, 0x1123F, 0x11240, 0x11380, 0x11389, 0x1138B, 0x1138B,
            0x1138E, 0x1138E, 0x11390, 0x113B5, 0x113B7, 0x113B7, 0x113D1, 0x113D1, 0x113D3, 0x113D3,
            0x116D0, 0x116E3, 0x11BC0, 0x11BE0, 0x11BF0, 0x11BF9, 0x11F02, 0x11F02, 0x11F04, 0x11F10,
            0x11F12, 0x11F33, 0x11F50, 0x11F59, 0x1342F, 0x1342F, 0x13441, 0x13446, 0x13460, 0x143FA,
            0x16100, 0x1611D, 0x16130, 0x16139, 0x16D40, 0x16D6C, 0x16D70, 0x16D79, 0x18CFF, 0x18CFF,
            0x1B132, 0x1B132, 0x1B155, 0x1B155, 0x1CCF0, 0x1CCF9, 0x1D2C0, 0x1D2D3, 0x1DF25, 0x1DF2A,
            0x1E030, 0x1E06D, 0x1E4D0, 0x1E4EB, 0x1E4F0, 0x1E4F9, 0x1E5D0, 0x1E5ED, 0x1E5F0, 0x1E5FA,
            0x2B739, 0x2B739, 0x2EBF0, 0x2EE5D, 0x31350, 0x323AF};

    /** The same code points as the body of a Java regex character class. */
    static final String LETTERS_NUMBERS_AFTER_UNICODE_14_CLASS = characterClass(LETTERS_NUMBERS_AFTER_UNICODE_14);

    private UnicodeProps() {}

    /** Whether the text holds a code point of {@link #LETTERS_NUMBERS_AFTER_UNICODE_14_CLASS}. */
    static boolean hasLetterOrNumberAfterUnicode14(CharSequence text) {
        int lowest = LETTERS_NUMBERS_AFTER_UNICODE_14[0];
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (c < lowest) {
                continue;
            }
            int cp = c;
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                cp = Character.toCodePoint(c, text.charAt(++i));
            }
            if (isLetterOrNumberAfterUnicode14(cp)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isLetterOrNumberAfterUnicode14(int cp) {
        int[] r = LETTERS_NUMBERS_AFTER_UNICODE_14;
        int lo = 0;
        int hi = r.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (cp < r[2 * mid]) {
                hi = mid - 1;
            } else if (cp > r[2 * mid + 1]) {
                lo = mid + 1;
            } else {
                return true;
            }
        }
        return false;
    }

    private static String characterClass(int[] ranges) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ranges.length; i += 2) {
            sb.append(String.format("\\x{%X}-\\x{%X}", ranges[i], ranges[i + 1]));
        }
        return sb.toString();
    }

    /** Unicode White_Space: Rust's {@code char::is_whitespace} and regex {@code \s}. */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D)
                || cp == 0x20
                || cp == 0x85
                || cp == 0xA0
                || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028
                || cp == 0x2029
                || cp == 0x202F
                || cp == 0x205F
                || cp == 0x3000;
    }

    /** Rust's {@code char::is_numeric}: general categories Nd, Nl and No. */
    static boolean isNumeric(int cp) {
        int type = Character.getType(cp);
        return type == Character.DECIMAL_DIGIT_NUMBER
                || type == Character.LETTER_NUMBER
                || type == Character.OTHER_NUMBER;
    }

    /** Rust regex's {@code \w}: Alphabetic, marks, decimal digits, connector punctuation, joiners. */
    static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp) || cp == 0x200C || cp == 0x200D) {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK
                || type == Character.ENCLOSING_MARK
                || type == Character.COMBINING_SPACING_MARK
                || type == Character.DECIMAL_DIGIT_NUMBER
                || type == Character.CONNECTOR_PUNCTUATION;
    }

    /** Rust's {@code char::is_ascii_punctuation() || is_punctuation()}: ASCII symbols and category P. */
    static boolean isPunctuation(int cp) {
        if (cp < 0x80) {
            return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40)
                    || (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
        }
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION,
                    Character.START_PUNCTUATION, Character.END_PUNCTUATION,
                    Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                    Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /**
     * Appends the UTF-8 bytes of {@code text} to {@code out} starting at {@code pos} and returns
     * the new end. A lone surrogate, which UTF-8 cannot carry, is written as U+FFFD.
     * {@code out} must have room for 3 bytes per char.
     */
    static int utf8(CharSequence text, byte[] out, int pos) {
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                out[pos++] = (byte) c;
            } else if (c < 0x800) {
                out[pos++] = (byte) (0xC0 | (c >> 6));
                out[pos++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, text.charAt(++i));
                out[pos++] = (byte) (0xF0 | (cp >> 18));
                out[pos++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                out[pos++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[pos++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                int cp = Character.isSurrogate(c) ? 0xFFFD : c;
                out[pos++] = (byte) (0xE0 | (cp >> 12));
                out[pos++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[pos++] = (byte) (0x80 | (cp & 0x3F));
            }
        }
        return pos;
    }
}
