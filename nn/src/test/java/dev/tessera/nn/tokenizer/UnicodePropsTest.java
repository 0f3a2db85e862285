package dev.tessera.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.IntPredicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The character classes of Hugging Face's tokenizers, against the Unicode properties Java's
 * regex engine knows by name (White_Space, N, P, Alphabetic, Join_Control), over the whole
 * Basic Multilingual Plane and a stride through the others; UTF-8 against the JDK's encoder.
 */
class UnicodePropsTest {
    /** The BMP, then every 97th code point above it. */
    private static void forSampledCodePoints(IntPredicate ours, Pattern reference, String what) {
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp = cp < 0x10000 ? cp + 1 : cp + 97) {
            if (Character.isSurrogate((char) cp) && cp < 0x10000) {
                continue;
            }
            boolean expected = reference.matcher(Character.toString(cp)).matches();
            if (ours.test(cp) != expected) {
                throw new AssertionError(what + " of U+" + Integer.toHexString(cp).toUpperCase() + ": expected " + expected);
            }
        }
    }

    @Test
    void whiteSpaceIsUnicodesWhiteSpaceProperty() {
        forSampledCodePoints(UnicodeProps::isWhiteSpace, Pattern.compile("\\p{IsWhite_Space}"), "White_Space");
    }

    @Test
    void numericIsTheNumberCategories() {
        forSampledCodePoints(UnicodeProps::isNumeric, Pattern.compile("\\p{N}"), "numeric");
    }

    @Test
    void punctuationIsAsciiSymbolsAndCategoryP() {
        forSampledCodePoints(UnicodeProps::isPunctuation, Pattern.compile("\\p{Punct}|[\\p{P}&&[^\\x00-\\x7F]]"), "punctuation");
    }

    @Test
    void wordCharactersAreRustRegexBackslashW() {
        forSampledCodePoints(UnicodeProps::isWordChar,
                Pattern.compile("[\\p{IsAlphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{IsJoin_Control}]"), "\\w");
    }

    @Test
    void utf8MatchesTheJdkEncoderAndReplacesLoneSurrogates() {
        String text = "a\u007F\u0080\u07FF\u0800\uFFFF" + Character.toString(0x10000) + Character.toString(0x10FFFF) + "é中😀z";
        byte[] out = new byte[text.length() * 3 + 4];
        out[0] = 42;
        int end = UnicodeProps.utf8(text, out, 1);
        byte[] expected = text.getBytes(StandardCharsets.UTF_8);
        assertEquals(1 + expected.length, end);
        assertEquals(42, out[0], "bytes before pos are left alone");
        assertArrayEquals(expected, Arrays.copyOfRange(out, 1, end));

        byte[] fffd = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};
        for (String lone : new String[] {"\uD800", "\uDC00", "\uDBFFx"}) {
            byte[] b = new byte[12];
            int n = UnicodeProps.utf8(lone, b, 0);
            assertArrayEquals(fffd, Arrays.copyOf(b, 3), "lone surrogate " + (int) lone.charAt(0));
            assertEquals(lone.length() == 1 ? 3 : 4, n);
        }
    }

    @Test
    void lettersAndNumbersNewerThanUnicode14AreFoundAtTheirRangeEdges() {
        int[][] inside = {{0x1C89}, {0x1C8A}, {0xA7CB}, {0xA7CC}, {0x1138B}, {0x13460}, {0x143FA}, {0x31350}, {0x323AF}};
        for (int[] cp : inside) {
            assertTrue(UnicodeProps.hasLetterOrNumberAfterUnicode14("x" + Character.toString(cp[0]) + "y"),
                    "U+" + Integer.toHexString(cp[0]));
        }
        for (int cp : new int[] {0x1C88, 0x1C8B, 0xA7CA, 0x1138A, 0x1138C, 0x323B0, 0x31349, 0x4E00, 0x1F600}) {
            assertFalse(UnicodeProps.hasLetterOrNumberAfterUnicode14("x" + Character.toString(cp)), "U+" + Integer.toHexString(cp));
        }
        assertFalse(UnicodeProps.hasLetterOrNumberAfterUnicode14(""));
        assertFalse(UnicodeProps.hasLetterOrNumberAfterUnicode14("plain ascii, é and 中"));
        assertFalse(UnicodeProps.hasLetterOrNumberAfterUnicode14("\uD80D"), "a lone high surrogate at the end");
        Pattern cls = Pattern.compile("[" + UnicodeProps.LETTERS_NUMBERS_AFTER_UNICODE_14_CLASS + "]");
        for (int[] cp : inside) {
            assertTrue(cls.matcher(Character.toString(cp[0])).matches(), "class has U+" + Integer.toHexString(cp[0]));
        }
        assertFalse(cls.matcher(Character.toString(0x1C88)).matches());
        assertFalse(cls.matcher(Character.toString(0x323B0)).matches());
    }
}
