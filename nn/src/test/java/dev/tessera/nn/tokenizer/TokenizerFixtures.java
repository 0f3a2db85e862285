package dev.tessera.nn.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tokenizer folders for tests: GPT-2's real files as HF's converter turns them into tokenizer.json,
 * and small trained vocabularies in the layouts of Llama-3, Qwen2, SmolLM and Llama-2.
 */
final class TokenizerFixtures {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    static final String LLAMA3_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private TokenizerFixtures() {}

    /** The shared GPT-2 files (vocab.json + merges.txt), looked for beside the repository. */
    static Optional<Path> gpt2Files() {
        for (String candidate : List.of("../shared/data/gpt2", "../../shared/data/gpt2")) {
            Path p = Path.of(candidate).toAbsolutePath().normalize();
            if (Files.isRegularFile(p.resolve("vocab.json")) && Files.isRegularFile(p.resolve("merges.txt"))) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** GPT-2's files as transformers' GPT2 converter writes them into a tokenizer.json. */
    static Path gpt2TokenizerJson(Path gpt2, Path out) {
        try {
            JsonNode vocab = JSON.readTree(gpt2.resolve("vocab.json").toFile());
            ArrayNode merges = F.arrayNode();
            for (String line : Files.readAllLines(gpt2.resolve("merges.txt"), StandardCharsets.UTF_8)) {
                if (!line.isEmpty() && !line.startsWith("#version")) {
                    merges.add(line);
                }
            }
            ObjectNode model = bpe(vocab, merges, null, false, false, false);
            ObjectNode root = root(model, List.of(added(50256, "<|endoftext|>", true)), null,
                    byteLevel(false, true), byteLevel(true, true));
            return write(root, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Llama-3's layout: Split(regex) + ByteLevel(no regex), ignore_merges, merges as pairs. */
    static Path llama3Style(Path out) {
        BpeTrainer.Result trained = trainByteLevel(LLAMA3_REGEX);
        List<String> specials = List.of("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>");
        return write(root(bpe(vocabNode(trained.vocab()), mergePairs(trained.merges()), null, false, false, true),
                addedAfter(trained.vocab(), specials), null,
                sequence("pretokenizers", split(LLAMA3_REGEX, "Isolated"), byteLevel(false, false)),
                byteLevel(true, true)), out);
    }

    /** Qwen2's layout: NFC, Split(regex) + ByteLevel(no regex), merges as "a b" strings. */
    static Path qwen2Style(Path out) {
        BpeTrainer.Result trained = trainByteLevel(QWEN2_REGEX);
        List<String> specials = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
        return write(root(bpe(vocabNode(trained.vocab()), mergeStrings(trained.merges()), null, false, false, false),
                addedAfter(trained.vocab(), specials), F.objectNode().put("type", "NFC"),
                sequence("pretokenizers", split(QWEN2_REGEX, "Isolated"), byteLevel(false, false)),
                byteLevel(true, true)), out);
    }

    /**
     * Qwen2's layout with added tokens that use every flag: lstrip, rstrip, single_word, and
     * normalized (matched after NFC) non-special tokens.
     */
    static Path addedTokenFlags(Path out) {
        BpeTrainer.Result trained = trainByteLevel(QWEN2_REGEX);
        int next = trained.vocab().size();
        List<ObjectNode> added = new ArrayList<>(addedAfter(trained.vocab(), List.of("<|endoftext|>")));
        added.add(added(next + 1, "<mask>", true).put("lstrip", true));
        added.add(added(next + 2, "[R]", true).put("rstrip", true));
        added.add(added(next + 3, "word", false).put("single_word", true));
        added.add(added(next + 4, "caf\u00e9", false));
        added.add(added(next + 5, "ab", false).put("lstrip", true).put("rstrip", true));
        return write(root(bpe(vocabNode(trained.vocab()), mergeStrings(trained.merges()), null, false, false, false),
                added, F.objectNode().put("type", "NFC"),
                sequence("pretokenizers", split(QWEN2_REGEX, "Isolated"), byteLevel(false, false)),
                byteLevel(true, true)), out);
    }

    /** SmolLM's layout: Digits(individual) then ByteLevel with the GPT-2 regex. */
    static Path smolLmStyle(Path out) {
        BpeTrainer.Result trained = trainByteLevel(ByteMap.GPT2_PATTERN);
        List<String> specials = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
        return write(root(bpe(vocabNode(trained.vocab()), mergeStrings(trained.merges()), null, false, false, false),
                addedAfter(trained.vocab(), specials), null,
                sequence("pretokenizers", F.objectNode().put("type", "Digits").put("individual_digits", true), byteLevel(false, true)),
                byteLevel(true, true)), out);
    }

    /** Llama-2 / TinyLlama's original layout: Prepend("▁") + Replace(" ", "▁"), byte fallback. */
    static Path sentencePieceLegacy(Path out) {
        BpeTrainer.Result trained = trainSentencePiece();
        ArrayNode normalizers = F.arrayNode()
                .add(F.objectNode().put("type", "Prepend").put("prepend", "▁"))
                .add(replace(" ", "▁"));
        ObjectNode normalizer = F.objectNode().put("type", "Sequence");
        normalizer.set("normalizers", normalizers);
        return write(root(bpe(vocabNode(trained.vocab()), mergeStrings(trained.merges()), "<unk>", true, true, false),
                sentencePieceSpecials(), normalizer, null, sentencePieceDecoder()), out);
    }

    /** Newer Llama conversions: no normalizer, a Metaspace pre-tokenizer. */
    static Path sentencePieceMetaspace(Path out, String prependScheme, boolean split, boolean metaspaceDecoder) {
        BpeTrainer.Result trained = trainSentencePiece();
        ObjectNode pre = F.objectNode().put("type", "Metaspace").put("replacement", "▁")
                .put("prepend_scheme", prependScheme).put("split", split);
        ObjectNode decoder = metaspaceDecoder
                ? F.objectNode().put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", prependScheme).put("split", split)
                : sentencePieceDecoder();
        return write(root(bpe(vocabNode(trained.vocab()), mergePairs(trained.merges()), "<unk>", true, true, false),
                sentencePieceSpecials(), null, pre, decoder), out);
    }

    static Path write(JsonNode tokenizerJson, Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), JSON.writeValueAsString(tokenizerJson));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static BpeTrainer.Result trainByteLevel(String regex) {
        List<String> alphabet = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            alphabet.add(String.valueOf(ByteMap.charOf(b)));
        }
        List<String> words = new ArrayList<>();
        Matcher m = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS).matcher(Corpus.TRAINING);
        while (m.find()) {
            words.add(ByteMap.toByteChars(m.group()));
        }
        return BpeTrainer.train(alphabet, words, 400);
    }

    private static BpeTrainer.Result trainSentencePiece() {
        List<String> start = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            start.add(String.format("<0x%02X>", b));
        }
        String text = Corpus.TRAINING.replace(' ', '▁');
        text.codePoints().filter(cp -> cp != '\n').sorted().distinct().forEach(cp -> start.add(Character.toString(cp)));
        List<String> words = new ArrayList<>();
        for (String line : text.split("\n")) {
            for (String w : ("▁" + line).split("(?=▁)")) {
                words.add(w);
            }
        }
        for (int k = 2; k <= 8; k++) {
            words.add("▁".repeat(k));
            words.add("▁".repeat(k));
        }
        return BpeTrainer.train(start, words, 400);
    }

    private static List<ObjectNode> sentencePieceSpecials() {
        return List.of(added(0, "<unk>", true), added(1, "<s>", true), added(2, "</s>", true));
    }

    private static ObjectNode sentencePieceDecoder() {
        return sequence("decoders", replace("▁", " "), F.objectNode().put("type", "ByteFallback"),
                F.objectNode().put("type", "Fuse"),
                F.objectNode().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0));
    }

    private static ObjectNode root(ObjectNode model, List<ObjectNode> added, ObjectNode normalizer,
            ObjectNode preTokenizer, ObjectNode decoder) {
        ObjectNode root = F.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode addedArray = F.arrayNode();
        added.forEach(addedArray::add);
        root.set("added_tokens", addedArray);
        root.set("normalizer", normalizer);
        root.set("pre_tokenizer", preTokenizer);
        root.putNull("post_processor");
        root.set("decoder", decoder);
        root.set("model", model);
        return root;
    }

    private static ObjectNode bpe(JsonNode vocab, ArrayNode merges, String unk, boolean fuseUnk,
            boolean byteFallback, boolean ignoreMerges) {
        ObjectNode model = F.objectNode();
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", unk);
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", fuseUnk);
        model.put("byte_fallback", byteFallback);
        model.put("ignore_merges", ignoreMerges);
        model.set("vocab", vocab);
        model.set("merges", merges);
        return model;
    }

    static ObjectNode added(int id, String content, boolean special) {
        return F.objectNode().put("id", id).put("content", content).put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", !special).put("special", special);
    }

    private static List<ObjectNode> addedAfter(Map<String, Integer> vocab, List<String> specials) {
        List<ObjectNode> added = new ArrayList<>();
        for (int i = 0; i < specials.size(); i++) {
            added.add(added(vocab.size() + i, specials.get(i), true));
        }
        return added;
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean useRegex) {
        return F.objectNode().put("type", "ByteLevel").put("add_prefix_space", addPrefixSpace)
                .put("trim_offsets", true).put("use_regex", useRegex);
    }

    private static ObjectNode split(String regex, String behavior) {
        ObjectNode split = F.objectNode().put("type", "Split");
        split.set("pattern", F.objectNode().put("Regex", regex));
        return split.put("behavior", behavior).put("invert", false);
    }

    private static ObjectNode replace(String pattern, String content) {
        ObjectNode r = F.objectNode().put("type", "Replace");
        r.set("pattern", F.objectNode().put("String", pattern));
        return r.put("content", content);
    }

    private static ObjectNode sequence(String field, ObjectNode... steps) {
        ObjectNode seq = F.objectNode().put("type", "Sequence");
        ArrayNode array = F.arrayNode();
        for (ObjectNode s : steps) {
            array.add(s);
        }
        seq.set(field, array);
        return seq;
    }

    private static ObjectNode vocabNode(Map<String, Integer> vocab) {
        ObjectNode node = F.objectNode();
        vocab.forEach(node::put);
        return node;
    }

    private static ArrayNode mergeStrings(List<String[]> merges) {
        ArrayNode array = F.arrayNode();
        merges.forEach(m -> array.add(m[0] + " " + m[1]));
        return array;
    }

    private static ArrayNode mergePairs(List<String[]> merges) {
        ArrayNode array = F.arrayNode();
        merges.forEach(m -> array.add(F.arrayNode().add(m[0]).add(m[1])));
        return array;
    }
}
