package dev.tessera.training.data;

import dev.tessera.nn.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A tokenizer for specifications: one token per char (its code point, so {@code 'H'} is 72),
 * and special tokens, recognised in text like a real tokenizer does, from id 1000 on.
 * Expected label arrays can then be written from the text itself.
 */
final class CharTokenizer implements Tokenizer {
    static final int BOS = 1000;
    static final int EOS = 1001;
    static final int PAD = 1002;
    static final int VOCAB = 1100;

    private final Map<String, Integer> specials = new LinkedHashMap<>();
    private final List<String> longestFirst;
    private final OptionalInt bos;
    private final OptionalInt eos;
    private final OptionalInt pad;

    private CharTokenizer(OptionalInt bos, OptionalInt eos, OptionalInt pad) {
        String[] names = {"<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"};
        for (int i = 0; i < names.length; i++) {
            specials.put(names[i], 1000 + i);
        }
        longestFirst = new ArrayList<>(specials.keySet());
        longestFirst.sort(Comparator.comparingInt(String::length).reversed());
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
    }

    /** Llama-like: BOS {@code <s>} (1000), EOS {@code </s>} (1001), no pad token. */
    static CharTokenizer llamaLike() {
        return new CharTokenizer(OptionalInt.of(BOS), OptionalInt.of(EOS), OptionalInt.empty());
    }

    /** GPT-2-like: BOS = EOS = {@code <|endoftext|>} (1005), no pad token. */
    static CharTokenizer gpt2Like() {
        return new CharTokenizer(OptionalInt.of(1005), OptionalInt.of(1005), OptionalInt.empty());
    }

    /** With a pad token {@code <pad>} (1002) besides BOS and EOS. */
    static CharTokenizer withPad() {
        return new CharTokenizer(OptionalInt.of(BOS), OptionalInt.of(EOS), OptionalInt.of(PAD));
    }

    @Override
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        int i = 0;
        outer:
        while (i < text.length()) {
            for (String special : longestFirst) {
                if (text.startsWith(special, i)) {
                    ids.add(specials.get(special));
                    i += special.length();
                    continue outer;
                }
            }
            int cp = text.codePointAt(i);
            ids.add(cp < 1000 ? cp : '?');
            i += Character.charCount(cp);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String special = specials.entrySet().stream()
                    .filter(e -> e.getValue() == id)
                    .map(Map.Entry::getKey)
                    .findFirst()
                    .orElse(null);
            out.append(special != null ? special : Character.toString(id));
        }
        return out.toString();
    }

    @Override
    public int vocabSize() {
        return VOCAB;
    }

    @Override
    public OptionalInt tokenId(String token) {
        Integer id = specials.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public OptionalInt bosId() {
        return bos;
    }

    @Override
    public OptionalInt eosId() {
        return eos;
    }

    @Override
    public OptionalInt padId() {
        return pad;
    }

    /** Test shorthand: the ids of {@code text}. */
    int[] ids(String text) {
        return encode(text);
    }
}
