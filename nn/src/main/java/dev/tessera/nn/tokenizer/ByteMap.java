package dev.tessera.nn.tokenizer;

import java.io.ByteArrayOutputStream;

/**
 * GPT-2's reversible map between the 256 byte values and printable characters, so that byte-level
 * BPE vocabularies can be stored as text. Printable Latin-1 bytes map to themselves; the other 68
 * map, in order, to U+0100..U+0143 (space, 0x20, becomes 'Ġ' U+0120).
 */
final class ByteMap {
    /** The pre-tokenization regex of GPT-2 and of HF's ByteLevel pre-tokenizer with use_regex. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by char, U+0000..U+0143; -1 where the char stands for no byte. */
    private static final int[] CHAR_TO_BYTE = new int[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteMap() {}

    /** The character that stands for byte {@code b} (0..255). */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** Text's UTF-8 bytes, each written as its stand-in character. */
    static String toByteChars(String text) {
        byte[] bytes = new byte[text.length() * 3];
        int n = UnicodeProps.utf8(text, bytes, 0);
        char[] chars = new char[n];
        for (int i = 0; i < n; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    /**
     * Appends the bytes a token stands for, as HF's ByteLevel decoder does: each char mapped back to
     * its byte, or, if any char is not a stand-in, the token's own UTF-8 bytes.
     */
    static void appendBytes(String token, ByteArrayOutputStream out) {
        int n = token.length();
        for (int i = 0; i < n; i++) {
            char c = token.charAt(i);
            if (c >= CHAR_TO_BYTE.length || CHAR_TO_BYTE[c] < 0) {
                byte[] raw = new byte[n * 3];
                out.write(raw, 0, UnicodeProps.utf8(token, raw, 0));
                return;
            }
        }
        for (int i = 0; i < n; i++) {
            out.write(CHAR_TO_BYTE[token.charAt(i)]);
        }
    }
}
