package dev.tessera.nn.tokenizer;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of HF's tokenizers: a word's code points become vocabulary ids (or byte-fallback
 * {@code <0xNN>} ids, or the unknown id), then adjacent pairs are merged lowest rank first,
 * leftmost first among equals, until no listed pair remains. Results are cached per word.
 */
final class BpeModel {
    /** Words longer than this (in chars) are not cached, as in HF. */
    private static final int MAX_CACHED_WORD = 256;
    private static final int CACHE_CAPACITY = 1 << 17;

    private final Map<String, Integer> vocab;
    private final String[] tokens;
    /** Id of each single-char token, indexed by char; -1 where none. Used when no prefix/suffix is set. */
    private final int[] charIds;
    private final PairMerges merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    /** Id of {@code <0xNN>} per byte, or null without byte fallback; -1 where the vocab lacks one. */
    private final int[] byteIds;
    private final String prefix;
    private final String suffix;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs of token strings, by rank
     * @param unkToken the unknown token, or null to drop unknown characters
     * @param prefix HF's continuing_subword_prefix, or null
     * @param suffix HF's end_of_word_suffix, or null
     * @throws IllegalArgumentException naming the offending token when a merge or the unknown
     *     token is not in the vocabulary
     */
    BpeModel(Map<String, Integer> vocab, String[][] merges, String unkToken, boolean fuseUnk,
            boolean byteFallback, boolean ignoreMerges, String prefix, String suffix) {
        this.vocab = Map.copyOf(vocab);
        int maxId = -1;
        for (int id : vocab.values()) {
            maxId = Math.max(maxId, id);
        }
        this.tokens = new String[maxId + 1];
        this.charIds = new int[Character.MAX_VALUE + 1];
        Arrays.fill(charIds, -1);
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            tokens[e.getValue()] = e.getKey();
            if (e.getKey().length() == 1) {
                charIds[e.getKey().charAt(0)] = e.getValue();
            }
        }
        this.prefix = prefix == null || prefix.isEmpty() ? null : prefix;
        this.suffix = suffix == null || suffix.isEmpty() ? null : suffix;
        if (unkToken != null && !vocab.containsKey(unkToken)) {
            throw new IllegalArgumentException("unk_token \"" + unkToken + "\" is not in the vocabulary");
        }
        this.unkId = unkToken == null ? -1 : vocab.get(unkToken);
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        if (byteFallback) {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) {
                byteIds[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
            }
        } else {
            byteIds = null;
        }
        this.merges = new PairMerges(merges.length);
        int prefixLength = this.prefix == null ? 0 : this.prefix.length();
        for (int rank = 0; rank < merges.length; rank++) {
            String a = merges[rank][0];
            String b = merges[rank][1];
            String right = prefixLength > 0 && b.startsWith(this.prefix) ? b.substring(prefixLength) : b;
            int aId = idOf(a, rank);
            int bId = idOf(b, rank);
            int newId = idOf(a + right, rank);
            this.merges.put(aId, bId, rank, newId);
        }
    }

    private int idOf(String token, int rank) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("merge " + (rank + 1) + " uses \"" + token + "\", which is not in the vocabulary");
        }
        return id;
    }

    /** One more than the largest id. */
    int size() {
        return tokens.length;
    }

    /** The id of a token string, or -1. */
    int id(String token) {
        Integer id = vocab.get(token);
        return id == null ? -1 : id;
    }

    /** The token string of an id, or null. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** Appends the ids of one pre-tokenized word. */
    void encode(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        int[] cached = cache.get(word);
        if (cached == null) {
            cached = merge(word);
            if (word.length() <= MAX_CACHED_WORD && cache.size() < CACHE_CAPACITY) {
                cache.put(word, cached);
            }
        }
        out.addAll(cached);
    }

    /** HF's {@code merge_word} + {@code Word::merge_all}: the reference order of merges. */
    private int[] merge(String word) {
        IntList symbols = new IntList(word.length());
        int pendingUnk = -1;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            int id = initialId(word, i, end);
            if (id >= 0) {
                if (pendingUnk >= 0) {
                    symbols.add(pendingUnk);
                    pendingUnk = -1;
                }
                symbols.add(id);
            } else if (!addByteFallback(word.substring(i, end), symbols) && unkId >= 0) {
                if (pendingUnk >= 0 && !fuseUnk) {
                    symbols.add(pendingUnk);
                }
                pendingUnk = unkId;
            }
            i = end;
        }
        if (pendingUnk >= 0) {
            symbols.add(pendingUnk);
        }
        return mergeAll(symbols.toArray());
    }

    /** The vocabulary id of the code point at [start, end) of the word, with prefix/suffix; or -1. */
    private int initialId(String word, int start, int end) {
        if (prefix == null && suffix == null && end - start == 1) {
            return charIds[word.charAt(start)];
        }
        String s = word.substring(start, end);
        if (prefix != null && start > 0) {
            s = prefix + s;
        }
        if (suffix != null && end == word.length()) {
            s = s + suffix;
        }
        return id(s);
    }

    /** Adds the {@code <0xNN>} ids of a character's UTF-8 bytes if byte fallback is on and all exist. */
    private boolean addByteFallback(String ch, IntList symbols) {
        if (byteIds == null) {
            return false;
        }
        byte[] bytes = new byte[4];
        int n = UnicodeProps.utf8(ch, bytes, 0);
        for (int k = 0; k < n; k++) {
            if (byteIds[bytes[k] & 0xFF] < 0) {
                return false;
            }
        }
        for (int k = 0; k < n; k++) {
            symbols.add(byteIds[bytes[k] & 0xFF]);
        }
        return true;
    }

    private int[] mergeAll(int[] ids) {
        int n = ids.length;
        if (n < 2) {
            return ids;
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        MergeQueue queue = new MergeQueue(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                long m = merges.get(ids[i], ids[i + 1]);
                if (m != PairMerges.NONE) {
                    queue.push(PairMerges.rank(m), i, PairMerges.newId(m));
                }
            }
        }
        int alive = n;
        while (!queue.isEmpty()) {
            int pos = queue.topPos();
            int newId = queue.topNewId();
            queue.pop();
            int right = next[pos];
            if (removed[pos] || right < 0) {
                continue;
            }
            long current = merges.get(ids[pos], ids[right]);
            if (current == PairMerges.NONE || PairMerges.newId(current) != newId) {
                continue; // stale: a neighbour changed since this pair was queued
            }
            ids[pos] = newId;
            removed[right] = true;
            alive--;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                long m = merges.get(ids[prev[pos]], ids[pos]);
                if (m != PairMerges.NONE) {
                    queue.push(PairMerges.rank(m), prev[pos], PairMerges.newId(m));
                }
            }
            if (next[pos] >= 0) {
                long m = merges.get(ids[pos], ids[next[pos]]);
                if (m != PairMerges.NONE) {
                    queue.push(PairMerges.rank(m), pos, PairMerges.newId(m));
                }
            }
        }
        int[] out = new int[alive];
        for (int i = 0, k = 0; i >= 0; i = next[i]) {
            out[k++] = ids[i];
        }
        return out;
    }

    /** (left id, right id) → (rank, merged id), open addressing over packed longs. */
    static final class PairMerges {
        static final long NONE = -1L;
        private final long[] keys;
        private final long[] values;
        private final int mask;

        PairMerges(int expected) {
            int capacity = Integer.highestOneBit(Math.max(16, expected * 2 + 1)) << 1;
            keys = new long[capacity];
            values = new long[capacity];
            Arrays.fill(keys, NONE);
            mask = capacity - 1;
        }

        static int rank(long value) {
            return (int) (value >>> 32);
        }

        static int newId(long value) {
            return (int) value;
        }

        /** A pair listed twice keeps its later rank, as HF's HashMap does. */
        void put(int left, int right, int rank, int newId) {
            long key = key(left, right);
            int slot = slot(key);
            while (keys[slot] != NONE && keys[slot] != key) {
                slot = (slot + 1) & mask;
            }
            keys[slot] = key;
            values[slot] = ((long) rank << 32) | (newId & 0xFFFFFFFFL);
        }

        long get(int left, int right) {
            long key = key(left, right);
            for (int slot = slot(key); ; slot = (slot + 1) & mask) {
                if (keys[slot] == key) {
                    return values[slot];
                }
                if (keys[slot] == NONE) {
                    return NONE;
                }
            }
        }

        private static long key(int left, int right) {
            return ((long) left << 32) | (right & 0xFFFFFFFFL);
        }

        private int slot(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            return (int) (h >>> 40) & mask;
        }
    }

    /** A binary min-heap of pending merges ordered by (rank, position), as HF's {@code Merge}. */
    static final class MergeQueue {
        private long[] order;
        private int[] newIds;
        private int size;

        MergeQueue(int capacity) {
            order = new long[Math.max(4, capacity)];
            newIds = new int[order.length];
        }

        boolean isEmpty() {
            return size == 0;
        }

        int topPos() {
            return (int) order[0];
        }

        int topNewId() {
            return newIds[0];
        }

        void push(int rank, int pos, int newId) {
            if (size == order.length) {
                order = Arrays.copyOf(order, size * 2);
                newIds = Arrays.copyOf(newIds, size * 2);
            }
            long key = ((long) rank << 32) | pos;
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (order[parent] <= key) {
                    break;
                }
                order[i] = order[parent];
                newIds[i] = newIds[parent];
                i = parent;
            }
            order[i] = key;
            newIds[i] = newId;
        }

        void pop() {
            long key = order[--size];
            int id = newIds[size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && order[child + 1] < order[child]) {
                    child++;
                }
                if (order[child] >= key) {
                    break;
                }
                order[i] = order[child];
                newIds[i] = newIds[child];
                i = child;
            }
            order[i] = key;
            newIds[i] = id;
        }
    }
}
