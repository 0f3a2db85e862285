package dev.tessera.nn.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * HF's tokenization pipeline for a BPE model: split out added tokens, normalize, split out
 * normalized added tokens, pre-tokenize into words, BPE each word; decoding maps ids to token
 * strings and runs the decoder. Immutable apart from the BPE word cache, so safe to share
 * between threads.
 */
final class BpeTokenizer implements Tokenizer {
    private final BpeModel model;
    private final AddedTokens added;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final Decoder decoder;
    private final int bos;
    private final int eos;
    private final int pad;
    private final int vocabSize;

    /**
     * @param normalizer null for none
     * @param preTokenizer null to treat each piece of text as one word
     * @param decoder null to join token strings with spaces, as HF does without a decoder
     * @param bos id, or -1 if none; likewise {@code eos} and {@code pad}
     */
    BpeTokenizer(BpeModel model, AddedTokens added, Normalizer normalizer, PreTokenizer preTokenizer,
            Decoder decoder, int bos, int eos, int pad) {
        this.model = model;
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        int size = model.size();
        for (AddedTokens.Token t : added.all()) {
            size = Math.max(size, t.id() + 1);
        }
        this.vocabSize = size;
    }

    @Override
    public int[] encode(String text) {
        IntList ids = new IntList(text.length() / 3 + 16);
        PreTokenizer.Sink word = (piece, atStart) -> model.encode(piece, ids);
        AddedTokens.Sink afterNormalization = new AddedTokens.Sink() {
            @Override
            public void text(String piece, boolean atStart) {
                if (preTokenizer == null) {
                    model.encode(piece, ids);
                } else {
                    preTokenizer.split(piece, atStart, word);
                }
            }

            @Override
            public void token(int id) {
                ids.add(id);
            }
        };
        added.splitRaw(text, true, new AddedTokens.Sink() {
            @Override
            public void text(String piece, boolean atStart) {
                String normalized = normalizer == null ? piece : normalizer.normalize(piece);
                added.splitNormalized(normalized, atStart, afterNormalization);
            }

            @Override
            public void token(int id) {
                ids.add(id);
            }
        });
        return ids.toArray();
    }

    /** Ids that name no token are skipped, as HF does. */
    @Override
    public String decode(int[] ids) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            AddedTokens.Token t = added.byId(id);
            String token = t != null ? t.content() : model.token(id);
            if (token != null) {
                tokens.add(token);
            }
        }
        if (decoder == null) {
            return String.join(" ", tokens);
        }
        return String.join("", decoder.decode(tokens));
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public OptionalInt tokenId(String token) {
        AddedTokens.Token t = added.byContent(token);
        if (t != null) {
            return OptionalInt.of(t.id());
        }
        int id = model.id(token);
        return id >= 0 ? OptionalInt.of(id) : OptionalInt.empty();
    }

    @Override
    public OptionalInt bosId() {
        return optional(bos);
    }

    @Override
    public OptionalInt eosId() {
        return optional(eos);
    }

    @Override
    public OptionalInt padId() {
        return optional(pad);
    }

    private static OptionalInt optional(int id) {
        return id >= 0 ? OptionalInt.of(id) : OptionalInt.empty();
    }
}
