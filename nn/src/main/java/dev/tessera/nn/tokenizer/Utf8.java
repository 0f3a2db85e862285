package dev.tessera.nn.tokenizer;

/**
 * UTF-8 decoding with Rust's rules, which HF's decoders follow: {@link #decodeLossy} writes one
 * U+FFFD per maximal invalid subpart (Unicode's recommended practice, as
 * {@code String::from_utf8_lossy}); {@link #decodeStrict} refuses invalid input.
 */
final class Utf8 {
    private Utf8() {}

    static String decodeLossy(byte[] bytes, int length) {
        StringBuilder out = new StringBuilder(length);
        int i = 0;
        while (i < length) {
            int consumed = next(bytes, i, length, out);
            if (consumed < 0) {
                out.append('\uFFFD');
                i += -consumed;
            } else {
                i += consumed;
            }
        }
        return out.toString();
    }

    /** The text, or null if the bytes are not valid UTF-8. */
    static String decodeStrict(byte[] bytes, int length) {
        StringBuilder out = new StringBuilder(length);
        int i = 0;
        while (i < length) {
            int consumed = next(bytes, i, length, out);
            if (consumed < 0) {
                return null;
            }
            i += consumed;
        }
        return out.toString();
    }

    /**
     * Decodes one code point at {@code i} into {@code out} and returns its byte length, or returns
     * minus the length of the maximal invalid subpart starting there.
     */
    private static int next(byte[] bytes, int i, int length, StringBuilder out) {
        int b0 = bytes[i] & 0xFF;
        if (b0 < 0x80) {
            out.append((char) b0);
            return 1;
        }
        int width;
        int lo = 0x80;
        int hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            width = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            width = 3;
            if (b0 == 0xE0) {
                lo = 0xA0;
            } else if (b0 == 0xED) {
                hi = 0x9F;
            }
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            width = 4;
            if (b0 == 0xF0) {
                lo = 0x90;
            } else if (b0 == 0xF4) {
                hi = 0x8F;
            }
        } else {
            return -1;
        }
        int cp = b0 & (0xFF >> (width + 1));
        for (int k = 1; k < width; k++) {
            if (i + k >= length) {
                return -k;
            }
            int b = bytes[i + k] & 0xFF;
            if (b < lo || b > hi) {
                return -k;
            }
            lo = 0x80;
            hi = 0xBF;
            cp = (cp << 6) | (b & 0x3F);
        }
        out.appendCodePoint(cp);
        return width;
    }
}
