package dev.tessera.examples.demo;

import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a small GPT-2-style byte-level BPE on a text corpus and writes it as GPT-2's two files
 * ({@code vocab.json}, {@code merges.txt}) plus a {@code tokenizer_config.json} naming
 * {@code <|endoftext|>} as BOS/EOS, so {@code Tokenizers.load} reads it like any GPT-2 folder.
 * Ids: the 256 byte symbols, then one per merge, then {@code <|endoftext|>}.
 */
public final class ByteLevelBpe {
    public static final String EOS = "<|endoftext|>";
    /** GPT-2's pre-tokenizer, less the English contractions. */
    private static final Pattern WORDS = Pattern.compile(" ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private ByteLevelBpe() {}

    /** GPT-2's bytes_to_unicode: each byte as a printable character. */
    static char[] byteSymbols() {
        char[] out = new char[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            direct[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            direct[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            direct[b] = true;
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            out[b] = direct[b] ? (char) b : (char) (256 + n++);
        }
        return out;
    }

    /**
     * Learns {@code merges} merges from {@code corpus} (most frequent adjacent pair first, ties
     * broken by the pair's text, so the result is deterministic) and writes the tokenizer files
     * to {@code dir}. Returns the vocabulary size.
     */
    public static int train(List<String> corpus, int merges, Path dir) {
        char[] symbols = byteSymbols();
        Map<List<String>, Integer> words = new HashMap<>();
        for (String text : corpus) {
            Matcher m = WORDS.matcher(text);
            while (m.find()) {
                List<String> w = new ArrayList<>();
                for (byte b : m.group().getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                    w.add(String.valueOf(symbols[b & 0xFF]));
                }
                words.merge(w, 1, Integer::sum);
            }
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(symbols[b]), vocab.size());
        }
        List<String> mergeLines = new ArrayList<>();
        for (int k = 0; k < merges; k++) {
            TreeMap<String, Integer> pairs = new TreeMap<>();
            for (var e : words.entrySet()) {
                List<String> w = e.getKey();
                for (int i = 0; i + 1 < w.size(); i++) {
                    pairs.merge(w.get(i) + " " + w.get(i + 1), e.getValue(), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 1; // a pair seen once is not worth a token
            for (var p : pairs.entrySet()) {
                if (p.getValue() > bestCount) {
                    best = p.getKey();
                    bestCount = p.getValue();
                }
            }
            if (best == null) {
                break;
            }
            String[] ab = best.split(" ");
            mergeLines.add(best);
            vocab.put(ab[0] + ab[1], vocab.size());
            Map<List<String>, Integer> next = new HashMap<>();
            for (var e : words.entrySet()) {
                List<String> w = e.getKey(), merged = new ArrayList<>();
                for (int i = 0; i < w.size(); i++) {
                    if (i + 1 < w.size() && w.get(i).equals(ab[0]) && w.get(i + 1).equals(ab[1])) {
                        merged.add(ab[0] + ab[1]);
                        i++;
                    } else {
                        merged.add(w.get(i));
                    }
                }
                next.merge(merged, e.getValue(), Integer::sum);
            }
            words = next;
        }
        vocab.put(EOS, vocab.size());
        try {
            Files.createDirectories(dir);
            StringBuilder json = new StringBuilder("{");
            for (var e : vocab.entrySet()) {
                json.append(json.length() == 1 ? "" : ", ").append(quote(e.getKey())).append(": ").append(e.getValue());
            }
            Files.writeString(dir.resolve("vocab.json"), json.append("}\n"));
            Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", mergeLines) + "\n");
            Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"" + EOS + "\", \"eos_token\": \"" + EOS
                    + "\", \"unk_token\": \"" + EOS + "\", \"model_max_length\": 1024, \"tokenizer_class\": \"GPT2Tokenizer\"}\n");
        } catch (IOException e) {
            throw new TesseraException(dir + ": cannot write the demo tokenizer: " + e.getMessage(), e);
        }
        return vocab.size();
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
