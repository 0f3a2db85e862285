package dev.tessera.nn.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.PatternSyntaxException;

/**
 * Reads HF's tokenizer.json: the BPE model, added tokens, normalizer, pre-tokenizer and decoder.
 * Padding, truncation and the post-processor are not read: {@link Tokenizer#encode} adds no
 * BOS/EOS, and callers add them from {@link Tokenizer#bosId()}.
 */
final class TokenizerJson {
    /** Ids at or above this are refused: no real vocabulary comes near, and it bounds memory. */
    static final int MAX_ID = (1 << 24) - 1;

    /** What tokenizer.json describes; normalizer, preTokenizer and decoder may be null. */
    record Parts(BpeModel model, List<AddedTokens.Token> added, Normalizer normalizer,
            PreTokenizer preTokenizer, Decoder decoder) {}

    private final JsonFile json;

    private TokenizerJson(JsonFile json) {
        this.json = json;
    }

    static Parts read(Path file) {
        return new TokenizerJson(JsonFile.read(file)).parts();
    }

    private Parts parts() {
        JsonNode root = json.root();
        BpeModel model = model(json.object(root, "model", ""));
        Normalizer normalizer = optionalStep(root, "normalizer", this::normalizer);
        PreTokenizer preTokenizer = optionalStep(root, "pre_tokenizer", this::preTokenizer);
        Decoder decoder = optionalStep(root, "decoder", this::decoder);
        List<AddedTokens.Token> added = new ArrayList<>();
        if (JsonFile.optional(root, "added_tokens") != null) {
            JsonNode list = json.array(root, "added_tokens", "");
            for (int i = 0; i < list.size(); i++) {
                added.add(addedToken(list.get(i), "added_tokens[" + i + "]"));
            }
        }
        return new Parts(model, added, normalizer, preTokenizer, decoder);
    }

    private interface StepReader<T> {
        T read(JsonNode node, String where);
    }

    private <T> T optionalStep(JsonNode root, String name, StepReader<T> reader) {
        return JsonFile.optional(root, name) == null ? null : reader.read(json.object(root, name, ""), name);
    }

    private BpeModel model(JsonNode node) {
        String where = "model.";
        String type = json.string(node, "type", where, node.has("merges") ? "BPE" : null);
        if (!"BPE".equals(type)) {
            throw json.error("model.type " + (type == null ? "is missing" : "\"" + type + "\" is not supported")
                    + " (only BPE models are)");
        }
        JsonNode vocabNode = json.object(node, "vocab", where);
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            vocab.put(e.getKey(), json.integer(e.getValue(), "model.vocab[\"" + JsonFile.clip(e.getKey()) + "\"]", MAX_ID));
        }
        JsonNode mergesNode = json.array(node, "merges", where);
        String[][] merges = new String[mergesNode.size()][];
        for (int i = 0; i < merges.length; i++) {
            merges[i] = merge(mergesNode.get(i), i);
        }
        try {
            return new BpeModel(vocab, merges,
                    json.string(node, "unk_token", where, null),
                    json.bool(node, "fuse_unk", where, false),
                    json.bool(node, "byte_fallback", where, false),
                    json.bool(node, "ignore_merges", where, false),
                    json.string(node, "continuing_subword_prefix", where, null),
                    json.string(node, "end_of_word_suffix", where, null));
        } catch (IllegalArgumentException e) {
            throw json.error("model: " + e.getMessage());
        }
    }

    /** A merge is "a b" (split at the first space) or, since tokenizers 0.20, ["a", "b"]. */
    private String[] merge(JsonNode m, int i) {
        if (m.isTextual()) {
            String s = m.textValue();
            int space = s.indexOf(' ');
            if (space < 0) {
                throw json.error("model.merges[" + i + "] \"" + JsonFile.clip(s) + "\" is not two tokens separated by a space");
            }
            return new String[] {s.substring(0, space), s.substring(space + 1)};
        }
        if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
            return new String[] {m.get(0).textValue(), m.get(1).textValue()};
        }
        throw json.error("model.merges[" + i + "] must be \"a b\" or [\"a\", \"b\"]");
    }

    private AddedTokens.Token addedToken(JsonNode node, String where) {
        if (!node.isObject()) {
            throw json.error(where + " must be an object");
        }
        String prefix = where + ".";
        JsonNode id = JsonFile.optional(node, "id");
        if (id == null) {
            throw json.error(prefix + "id is missing");
        }
        boolean special = json.bool(node, "special", prefix, false);
        return new AddedTokens.Token(
                json.integer(id, prefix + "id", MAX_ID),
                json.string(node, "content", prefix),
                json.bool(node, "single_word", prefix, false),
                json.bool(node, "lstrip", prefix, false),
                json.bool(node, "rstrip", prefix, false),
                json.bool(node, "normalized", prefix, !special),
                special);
    }

    private String type(JsonNode node, String where) {
        return json.string(node, "type", where + ".");
    }

    private Normalizer normalizer(JsonNode node, String where) {
        String w = where + ".";
        String type = type(node, where);
        return switch (type) {
            case "NFC" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFC);
            case "NFD" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFD);
            case "NFKC" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFKC);
            case "NFKD" -> new Normalizer.UnicodeForm(java.text.Normalizer.Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "Prepend" -> new Normalizer.Prepend(json.string(node, "prepend", w));
            case "Replace" -> new Normalizer.Replace(pattern(node, w), json.string(node, "content", w));
            case "Strip" -> new Normalizer.Strip(json.bool(node, "strip_left", w, false), json.bool(node, "strip_right", w, false));
            case "Sequence" -> new Normalizer.Sequence(list(node, "normalizers", where, this::normalizer));
            default -> throw unsupported(where, type);
        };
    }

    private PreTokenizer preTokenizer(JsonNode node, String where) {
        String w = where + ".";
        String type = type(node, where);
        return switch (type) {
            case "ByteLevel" -> new PreTokenizer.ByteLevel(json.bool(node, "add_prefix_space", w, true), json.bool(node, "use_regex", w, true));
            case "Split" -> new PreTokenizer.Split(pattern(node, w), behavior(node, w, null), json.bool(node, "invert", w, false));
            case "Metaspace" -> new PreTokenizer.Metaspace(json.codePoint(node, "replacement", w, '▁'), prepend(node, w), json.bool(node, "split", w, true));
            case "Digits" -> new PreTokenizer.Digits(json.bool(node, "individual_digits", w, false));
            case "Whitespace" -> new PreTokenizer.Whitespace();
            case "WhitespaceSplit" -> new PreTokenizer.WhitespaceSplit();
            case "Punctuation" -> new PreTokenizer.Punctuation(behavior(node, w, SplitBehavior.ISOLATED));
            case "Sequence" -> new PreTokenizer.Sequence(list(node, "pretokenizers", where, this::preTokenizer));
            default -> throw unsupported(where, type);
        };
    }

    private Decoder decoder(JsonNode node, String where) {
        String w = where + ".";
        String type = type(node, where);
        return switch (type) {
            case "ByteLevel" -> new Decoder.ByteLevel();
            case "Metaspace" -> new Decoder.Metaspace(json.codePoint(node, "replacement", w, '▁'),
                    prepend(node, w) != PreTokenizer.Metaspace.Prepend.NEVER);
            case "Replace" -> new Decoder.Replace(pattern(node, w), json.string(node, "content", w));
            case "ByteFallback" -> new Decoder.ByteFallback();
            case "Fuse" -> new Decoder.Fuse();
            case "Strip" -> new Decoder.Strip(json.codePoint(node, "content", w, ' '),
                    json.integer(node, "start", w, 0, Integer.MAX_VALUE), json.integer(node, "stop", w, 0, Integer.MAX_VALUE));
            case "Sequence" -> new Decoder.Sequence(list(node, "decoders", where, this::decoder));
            default -> throw unsupported(where, type);
        };
    }

    private <T> List<T> list(JsonNode node, String field, String where, StepReader<T> reader) {
        JsonNode array = json.array(node, field, where + ".");
        List<T> steps = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            String at = where + "." + field + "[" + i + "]";
            JsonNode step = array.get(i);
            if (!step.isObject()) {
                throw json.error(at + " must be an object");
            }
            steps.add(reader.read(step, at));
        }
        return List.copyOf(steps);
    }

    /** {@code "pattern": {"Regex": "..."}} or {@code {"String": "..."}}. */
    private SplitPattern pattern(JsonNode node, String where) {
        JsonNode p = json.object(node, "pattern", where);
        String literal = json.string(p, "String", where + "pattern.", null);
        if (literal != null) {
            return new SplitPattern.Literal(literal);
        }
        String regex = json.string(p, "Regex", where + "pattern.", null);
        if (regex == null) {
            throw json.error(where + "pattern must have a \"String\" or a \"Regex\"");
        }
        try {
            return SplitPattern.regex(regex);
        } catch (PatternSyntaxException e) {
            throw json.error(where + "pattern.Regex is not a valid regex: " + e.getDescription()
                    + " near index " + e.getIndex() + " of \"" + JsonFile.clip(regex) + "\"");
        }
    }

    private SplitBehavior behavior(JsonNode node, String where, SplitBehavior fallback) {
        String name = json.string(node, "behavior", where, null);
        if (name == null && fallback != null) {
            return fallback;
        }
        SplitBehavior b = name == null ? null : SplitBehavior.fromJson(name);
        if (b == null) {
            throw json.error(where + "behavior must be one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
        }
        return b;
    }

    /** {@code prepend_scheme} ("always", "first", "never"), or the older {@code add_prefix_space}. */
    private PreTokenizer.Metaspace.Prepend prepend(JsonNode node, String where) {
        String scheme = json.string(node, "prepend_scheme", where, null);
        if (scheme == null) {
            return json.bool(node, "add_prefix_space", where, true)
                    ? PreTokenizer.Metaspace.Prepend.ALWAYS : PreTokenizer.Metaspace.Prepend.NEVER;
        }
        return switch (scheme) {
            case "always" -> PreTokenizer.Metaspace.Prepend.ALWAYS;
            case "first" -> PreTokenizer.Metaspace.Prepend.FIRST;
            case "never" -> PreTokenizer.Metaspace.Prepend.NEVER;
            default -> throw json.error(where + "prepend_scheme must be always, first or never, got \"" + JsonFile.clip(scheme) + "\"");
        };
    }

    private RuntimeException unsupported(String where, String type) {
        return json.error(where + ".type \"" + JsonFile.clip(type) + "\" is not supported");
    }
}
