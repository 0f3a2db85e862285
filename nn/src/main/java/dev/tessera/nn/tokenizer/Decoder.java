package dev.tessera.nn.tokenizer;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns token strings back into text, as the decoders of HF's tokenizer.json ({@code ByteLevel},
 * {@code Metaspace}, {@code Replace}, {@code ByteFallback}, {@code Fuse}, {@code Strip},
 * {@code Sequence}). Each step maps a list of strings to a list of strings; the text is their
 * concatenation.
 */
sealed interface Decoder {

    List<String> decode(List<String> tokens);

    /** All tokens' bytes ({@link ByteMap}) as one UTF-8 string, invalid sequences as U+FFFD. */
    record ByteLevel() implements Decoder {
        @Override
        public List<String> decode(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String token : tokens) {
                ByteMap.appendBytes(token, bytes);
            }
            return List.of(Utf8.decodeLossy(bytes.toByteArray(), bytes.size()));
        }
    }

    /** ▁ back to a space, except in the first token when a ▁ was prepended on encoding. */
    record Metaspace(int replacement, boolean prependFirst) implements Decoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                StringBuilder token = new StringBuilder();
                boolean first = i == 0;
                tokens.get(i).codePoints().forEach(cp -> {
                    if (cp != replacement) {
                        token.appendCodePoint(cp);
                    } else if (!(first && prependFirst)) {
                        token.append(' ');
                    }
                });
                out.add(token.toString());
            }
            return out;
        }
    }

    record Replace(SplitPattern pattern, String content) implements Decoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String token : tokens) {
                out.add(Normalizer.replaceAll(pattern, content, token));
            }
            return out;
        }
    }

    /**
     * Runs of {@code <0xNN>} tokens become the text their bytes spell; a run that is not valid
     * UTF-8 becomes one U+FFFD per byte.
     */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            byte[] run = new byte[tokens.size()];
            int runLength = 0;
            for (String token : tokens) {
                int b = byteToken(token);
                if (b >= 0) {
                    run[runLength++] = (byte) b;
                    continue;
                }
                flush(run, runLength, out);
                runLength = 0;
                out.add(token);
            }
            flush(run, runLength, out);
            return out;
        }

        private static void flush(byte[] run, int length, List<String> out) {
            if (length == 0) {
                return;
            }
            String text = Utf8.decodeStrict(run, length);
            if (text != null) {
                out.add(text);
            } else {
                for (int i = 0; i < length; i++) {
                    out.add("\uFFFD");
                }
            }
        }

        /** The byte of a {@code <0xNN>} token (either hex case), or -1. */
        static int byteToken(String token) {
            if (token.length() != 6 || !token.startsWith("<0x") || token.charAt(5) != '>') {
                return -1;
            }
            int hi = hexDigit(token.charAt(3));
            int lo = hexDigit(token.charAt(4));
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }

        /** ASCII hex only: {@link Character#digit} would also accept fullwidth digits. */
        private static int hexDigit(char c) {
            return c < 0x80 ? Character.digit(c, 16) : -1;
        }
    }

    record Fuse() implements Decoder {
        @Override
        public List<String> decode(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} chars per token. */
    record Strip(int content, int start, int stop) implements Decoder {
        @Override
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String token : tokens) {
                int[] cps = token.codePoints().toArray();
                int from = 0;
                while (from < Math.min(start, cps.length) && cps[from] == content) {
                    from++;
                }
                int to = cps.length;
                for (int i = 0; i < Math.min(stop, cps.length - from) && cps[to - 1] == content; i++) {
                    to--;
                }
                out.add(new String(cps, from, to - from));
            }
            return out;
        }
    }

    record Sequence(List<Decoder> steps) implements Decoder {
        @Override
        public List<String> decode(List<String> tokens) {
            for (Decoder step : steps) {
                tokens = step.decode(tokens);
            }
            return tokens;
        }
    }
}
