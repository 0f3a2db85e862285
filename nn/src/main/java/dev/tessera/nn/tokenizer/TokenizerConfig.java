package dev.tessera.nn.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What transformers reads beside the vocabulary: special token names from tokenizer_config.json
 * and special_tokens_map.json (the latter wins, as in transformers), the config's
 * {@code added_tokens_decoder}, and its {@code add_prefix_space}. Either file may be absent.
 *
 * @param bos null when not named; likewise eos, pad and unk
 * @param addPrefixSpace null when not given
 */
record TokenizerConfig(String bos, String eos, String pad, String unk, List<String> additionalSpecial,
        List<AddedTokens.Token> addedTokensDecoder, Boolean addPrefixSpace) {

    static TokenizerConfig read(Path dir) {
        String bos = null;
        String eos = null;
        String pad = null;
        String unk = null;
        List<String> additional = new ArrayList<>();
        List<AddedTokens.Token> decoderTokens = new ArrayList<>();
        Boolean addPrefixSpace = null;
        for (String name : List.of("tokenizer_config.json", "special_tokens_map.json")) {
            Path file = dir.resolve(name);
            if (!Files.exists(file)) {
                continue;
            }
            JsonFile json = JsonFile.read(file);
            JsonNode root = json.root();
            bos = tokenName(json, root, "bos_token", bos);
            eos = tokenName(json, root, "eos_token", eos);
            pad = tokenName(json, root, "pad_token", pad);
            unk = tokenName(json, root, "unk_token", unk);
            JsonNode extra = JsonFile.optional(root, "additional_special_tokens");
            if (extra != null) {
                json.array(root, "additional_special_tokens", "");
                for (int i = 0; i < extra.size(); i++) {
                    additional.add(tokenName(json, extra.get(i), "additional_special_tokens[" + i + "]"));
                }
            }
            if (JsonFile.optional(root, "added_tokens_decoder") != null) {
                decoderTokens.addAll(addedTokensDecoder(json, json.object(root, "added_tokens_decoder", "")));
            }
            if (JsonFile.optional(root, "add_prefix_space") != null) {
                addPrefixSpace = json.bool(root, "add_prefix_space", "", false);
            }
        }
        return new TokenizerConfig(bos, eos, pad, unk, List.copyOf(additional), List.copyOf(decoderTokens), addPrefixSpace);
    }

    /** Every special token the config names, bos/eos/unk/pad first. */
    List<String> specialNames() {
        List<String> names = new ArrayList<>();
        for (String s : new String[] {bos, eos, unk, pad}) {
            if (s != null) {
                names.add(s);
            }
        }
        names.addAll(additionalSpecial);
        return names;
    }

    TokenizerConfig withDefaults(String defaultBos, String defaultEos, String defaultUnk) {
        return new TokenizerConfig(bos == null ? defaultBos : bos, eos == null ? defaultEos : eos, pad,
                unk == null ? defaultUnk : unk, additionalSpecial, addedTokensDecoder, addPrefixSpace);
    }

    /** A token named as a string or as an AddedToken object with a "content"; keeps {@code current} if absent. */
    private static String tokenName(JsonFile json, JsonNode root, String field, String current) {
        JsonNode v = JsonFile.optional(root, field);
        return v == null ? current : tokenName(json, v, field);
    }

    private static String tokenName(JsonFile json, JsonNode v, String where) {
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isObject()) {
            return json.string(v, "content", where + ".");
        }
        throw json.error(where + " must be a string or an object with a \"content\"");
    }

    /** {@code {"50256": {"content": "<|endoftext|>", "special": true, ...}, ...}}. */
    private static List<AddedTokens.Token> addedTokensDecoder(JsonFile json, JsonNode map) {
        List<AddedTokens.Token> tokens = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String where = "added_tokens_decoder[\"" + JsonFile.clip(e.getKey()) + "\"]";
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw json.error(where + ": the key must be a token id");
            }
            if (id < 0 || id > TokenizerJson.MAX_ID) {
                throw json.error(where + ": the id must be from 0 to " + TokenizerJson.MAX_ID);
            }
            JsonNode t = e.getValue();
            if (!t.isObject()) {
                throw json.error(where + " must be an object");
            }
            String w = where + ".";
            boolean special = json.bool(t, "special", w, false);
            tokens.add(new AddedTokens.Token(id, json.string(t, "content", w),
                    json.bool(t, "single_word", w, false), json.bool(t, "lstrip", w, false),
                    json.bool(t, "rstrip", w, false), json.bool(t, "normalized", w, !special), special));
        }
        return tokens;
    }
}
