package dev.tessera.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Broken tokenizer files, made by mutating valid ones, either load or fail with a one-line
 * {@link TesseraException} naming the file; nothing else may escape, on loading or on use.
 */
class TokenizerFileFuzzTest {
    @TempDir
    Path dir;

    /** Uses every kind of step the parser knows, so that mutations reach each of them. */
    static final String TOKENIZER_JSON = """
            {
              "version": "1.0",
              "added_tokens": [
                {"id": 8, "content": "<|end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                {"id": 9, "content": "ab", "single_word": true, "lstrip": true, "rstrip": true, "normalized": true, "special": false}
              ],
              "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFC"}, {"type": "NFKD"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": true, "strip_right": false},
                {"type": "Replace", "pattern": {"Regex": "\\\\s+"}, "content": " "}, {"type": "Prepend", "prepend": "▁"}]},
              "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "\\\\p{N}{1,3}| ?\\\\p{L}+|[^\\\\s\\\\p{L}\\\\p{N}]+"}, "behavior": "Isolated", "invert": false},
                {"type": "Split", "pattern": {"String": "x"}, "behavior": "MergedWithNext", "invert": true},
                {"type": "Digits", "individual_digits": true}, {"type": "Punctuation", "behavior": "Contiguous"},
                {"type": "Whitespace"}, {"type": "WhitespaceSplit"},
                {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
              "post_processor": null,
              "decoder": {"type": "Sequence", "decoders": [
                {"type": "ByteLevel"}, {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0},
                {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}]},
              "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
                "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "c": 4, "abc": 5, "<0x41>": 6, "Ġ": 7},
                "merges": ["a b", ["ab", "c"]]}
            }
            """;

    static final String CONFIG_JSON = """
            {"bos_token": "<unk>", "eos_token": {"content": "a", "special": true}, "pad_token": null,
             "additional_special_tokens": ["<y>", {"content": "<z>"}], "add_prefix_space": false,
             "added_tokens_decoder": {"10": {"content": "<x>", "lstrip": false, "normalized": false,
               "rstrip": false, "single_word": false, "special": true}}}
            """;

    private static final List<String> REPLACEMENTS = List.of(
            "null", "-1", "0", "1", "2147483648", "16777215", "16777216", "1.5", "1e400", "\"\"", "\"(\"",
            "\"\\\\p{\"", "\"▁▁\"", "\"a b c\"", "true", "[]", "{}", "[\"a\"]", "[[1, 2]]", "{\"type\": \"Sequence\"}",
            "{\"type\": \"Nope\"}", "{\"type\": \"Split\"}", "{\"Regex\": \"[\"}", "\"\\ud800\"");

    @Test
    void mutatedTreesLoadOrFailCleanly() {
        qt().withExamples(1500).forAll(lists().of(integers().between(0, Integer.MAX_VALUE)).ofSizeBetween(2, 6))
                .checkAssert(choices -> {
                    write("tokenizer.json", mutateTree(TOKENIZER_JSON, choices).getBytes(StandardCharsets.UTF_8));
                    loadOrFailCleanly("tokenizer.json");
                });
    }

    @Test
    void mutatedBytesLoadOrFailCleanly() {
        qt().withExamples(1500).forAll(byteMutations()).checkAssert(edits -> {
            write("tokenizer.json", mutateBytes(TOKENIZER_JSON.getBytes(StandardCharsets.UTF_8), edits));
            loadOrFailCleanly("tokenizer.json");
        });
    }

    @Test
    void randomBytesFailCleanly() {
        qt().withExamples(500).forAll(Generate.byteArrays(Generate.range(0, 300), Generate.bytes(Byte.MIN_VALUE, Byte.MAX_VALUE, (byte) 0)))
                .checkAssert(bytes -> {
                    write("tokenizer.json", bytes);
                    loadOrFailCleanly("tokenizer.json");
                });
    }

    @Test
    void mutatedConfigsLoadOrFailCleanly() {
        write("tokenizer.json", TOKENIZER_JSON.getBytes(StandardCharsets.UTF_8));
        qt().withExamples(800).forAll(lists().of(integers().between(0, Integer.MAX_VALUE)).ofSizeBetween(2, 6))
                .checkAssert(choices -> {
                    write("tokenizer_config.json", mutateTree(CONFIG_JSON, choices).getBytes(StandardCharsets.UTF_8));
                    loadOrFailCleanly("tokenizer_config.json");
                });
    }

    @Test
    void randomMergesFilesFailCleanly() {
        write("vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}".getBytes(StandardCharsets.UTF_8));
        qt().withExamples(500).forAll(Generate.byteArrays(Generate.range(0, 60), Generate.bytes(Byte.MIN_VALUE, Byte.MAX_VALUE, (byte) 'a')))
                .checkAssert(bytes -> {
                    write("merges.txt", bytes);
                    loadOrFailCleanly("merges.txt");
                });
    }

    private void loadOrFailCleanly(String file) {
        Tokenizer tok;
        try {
            tok = Tokenizers.load(dir);
        } catch (TesseraException e) {
            assertFalse(e.getMessage().contains("\n"), () -> "several lines: " + e.getMessage());
            assertTrue(e.getMessage().startsWith(dir.toString()), () -> "names no file: " + e.getMessage());
            return;
        } catch (RuntimeException | StackOverflowError e) {
            fail("loading " + file + " threw " + e, e);
            return;
        }
        for (String s : List.of("", "ab abc <|end|> 123 ▁x", "Hello\n\n  wörld 😀 <x><y>")) {
            tok.decode(tok.encode(s));
        }
        tok.decode(new int[] {0, 1, 2, 3, 6, 6, 7, 8, 9, 10, 11, -1, 1 << 24});
    }

    private void write(String name, byte[] bytes) {
        try {
            Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces or removes nodes: choices[0] picks how many edits, then each pair picks a node and an edit. */
    private static String mutateTree(String json, List<Integer> choices) {
        try {
            JsonNode root = TokenizerFixtures.JSON.readTree(json);
            for (int k = 0; k + 1 < choices.size(); k += 2) {
                List<JsonNode[]> slots = new ArrayList<>();
                collect(root, slots);
                JsonNode[] slot = slots.get(choices.get(k) % slots.size());
                int edit = choices.get(k + 1) % (REPLACEMENTS.size() + 1);
                ContainerNode<?> parent = (ContainerNode<?>) slot[0];
                String key = slot[1].asText();
                JsonNode value = edit == REPLACEMENTS.size() ? null : TokenizerFixtures.JSON.readTree(REPLACEMENTS.get(edit));
                if (parent instanceof ObjectNode o) {
                    if (value == null) {
                        o.remove(key);
                    } else {
                        o.set(key, value);
                    }
                } else if (parent instanceof ArrayNode a) {
                    int i = Integer.parseInt(key);
                    if (value == null) {
                        a.remove(i);
                    } else {
                        a.set(i, value);
                    }
                }
            }
            return TokenizerFixtures.JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every (container, key) slot in the tree, depth first. */
    private static void collect(JsonNode node, List<JsonNode[]> slots) {
        if (node instanceof ObjectNode o) {
            for (var e : o.properties()) {
                slots.add(new JsonNode[] {o, TokenizerFixtures.JSON.getNodeFactory().textNode(e.getKey())});
                collect(e.getValue(), slots);
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                slots.add(new JsonNode[] {a, TokenizerFixtures.JSON.getNodeFactory().textNode(String.valueOf(i))});
                collect(a.get(i), slots);
            }
        }
    }

    /** Edits as (kind, position, length, byte) quadruples: flip, delete, insert, duplicate, truncate. */
    private static Gen<List<Integer>> byteMutations() {
        return lists().of(integers().between(0, Integer.MAX_VALUE)).ofSizeBetween(4, 12);
    }

    private static byte[] mutateBytes(byte[] bytes, List<Integer> edits) {
        List<Byte> b = new ArrayList<>();
        for (byte x : bytes) {
            b.add(x);
        }
        for (int k = 0; k + 3 < edits.size(); k += 4) {
            int kind = edits.get(k) % 5;
            int pos = b.isEmpty() ? 0 : edits.get(k + 1) % b.size();
            int len = 1 + edits.get(k + 2) % 8;
            byte value = (byte) (int) edits.get(k + 3);
            switch (kind) {
                case 0 -> {
                    if (!b.isEmpty()) {
                        b.set(pos, value);
                    }
                }
                case 1 -> {
                    for (int i = 0; i < len && pos < b.size(); i++) {
                        b.remove(pos);
                    }
                }
                case 2 -> b.add(pos, value);
                case 3 -> {
                    List<Byte> copy = new ArrayList<>(b.subList(pos, Math.min(b.size(), pos + len * 8)));
                    b.addAll(pos, copy);
                }
                default -> {
                    while (b.size() > pos) {
                        b.remove(b.size() - 1);
                    }
                }
            }
        }
        byte[] out = new byte[b.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }
}
