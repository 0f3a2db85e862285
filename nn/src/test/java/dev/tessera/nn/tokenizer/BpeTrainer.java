package dev.tessera.nn.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A minimal BPE trainer for test fixtures: starting from an alphabet, repeatedly merges the most
 * frequent adjacent pair (ties broken by the smaller pair, so the result is deterministic).
 */
final class BpeTrainer {
    /** A trained vocabulary (token to id, in id order) and its merges by rank. */
    record Result(LinkedHashMap<String, Integer> vocab, List<String[]> merges) {}

    private BpeTrainer() {}

    /**
     * @param vocabStart tokens that come first in the vocabulary (specials, alphabet), in id order
     * @param words training words, already pre-tokenized into the alphabet's symbols
     */
    static Result train(List<String> vocabStart, List<String> words, int mergeCount) {
        LinkedHashMap<String, Integer> vocab = new LinkedHashMap<>();
        for (String t : vocabStart) {
            vocab.putIfAbsent(t, vocab.size());
        }
        Map<String, Integer> counts = new HashMap<>();
        for (String w : words) {
            counts.merge(w, 1, Integer::sum);
        }
        List<List<String>> split = new ArrayList<>();
        List<Integer> freq = new ArrayList<>();
        for (Map.Entry<String, Integer> e : new TreeMap<>(counts).entrySet()) {
            List<String> symbols = new ArrayList<>();
            e.getKey().codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
            split.add(symbols);
            freq.add(e.getValue());
        }
        List<String[]> merges = new ArrayList<>();
        for (int m = 0; m < mergeCount; m++) {
            TreeMap<String, Integer> pairs = new TreeMap<>();
            for (int w = 0; w < split.size(); w++) {
                List<String> s = split.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairs.merge(s.get(i) + "\u0000" + s.get(i + 1), freq.get(w), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 1;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                if (e.getValue() > bestCount) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best == null) {
                break;
            }
            String[] pair = best.split("\u0000", -1);
            merges.add(pair);
            vocab.putIfAbsent(pair[0] + pair[1], vocab.size());
            for (List<String> s : split) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(pair[0]) && s.get(i + 1).equals(pair[1])) {
                        s.set(i, pair[0] + pair[1]);
                        s.remove(i + 1);
                    }
                }
            }
        }
        return new Result(vocab, merges);
    }
}
