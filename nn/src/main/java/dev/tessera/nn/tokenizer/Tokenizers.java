package dev.tessera.nn.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a {@link Tokenizer} from a Hugging Face model folder.
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizers.load(Path.of("models/TinyLlama-1.1B"));
 * int[] ids = tok.encode("The quick brown fox");
 * int[] withBos = IntStream.concat(tok.bosId().stream(), IntStream.of(ids)).toArray();
 * System.out.println(tok.decode(ids));     // The quick brown fox
 * }</pre>
 *
 * <p>The folder holds {@code tokenizer.json} (any BPE tokenizer: GPT-2, SmolLM, Qwen2, Llama-3
 * byte-level; Llama-2, TinyLlama, Mistral SentencePiece-style with byte fallback), or else GPT-2's
 * {@code vocab.json} + {@code merges.txt}. {@code tokenizer_config.json} and
 * {@code special_tokens_map.json} are read when present for BOS/EOS/PAD and added tokens;
 * special tokens they name are recognised in text. For GPT-2's two-file form without a config,
 * BOS and EOS are {@code <|endoftext|>}, as in transformers' {@code GPT2Tokenizer}.
 *
 * <p>Broken or missing files raise a one-line {@link TesseraException} naming the file and what
 * is wrong.
 */
public final class Tokenizers {
    private static final String GPT2_END_OF_TEXT = "<|endoftext|>";

    private Tokenizers() {}

    /**
     * Loads the tokenizer in {@code dir}.
     *
     * @throws TesseraException if the folder has no tokenizer files or they are malformed
     */
    public static Tokenizer load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new TesseraException(dir + ": not a folder (expected a model folder with tokenizer.json)");
        }
        TokenizerConfig config = TokenizerConfig.read(dir);
        Path tokenizerJson = dir.resolve("tokenizer.json");
        if (Files.exists(tokenizerJson)) {
            TokenizerJson.Parts parts = TokenizerJson.read(tokenizerJson);
            return assemble(parts, config);
        }
        Path vocab = dir.resolve("vocab.json");
        Path merges = dir.resolve("merges.txt");
        if (!Files.exists(vocab) && !Files.exists(merges)) {
            throw new TesseraException(dir + ": no tokenizer.json, and no vocab.json + merges.txt");
        }
        if (!Files.exists(merges)) {
            throw new TesseraException(merges + ": missing (vocab.json needs merges.txt beside it)");
        }
        if (!Files.exists(vocab)) {
            throw new TesseraException(vocab + ": missing (merges.txt needs vocab.json beside it)");
        }
        BpeModel model;
        try {
            model = new BpeModel(readVocab(vocab), readMerges(merges), null, false, false, false, null, null);
        } catch (IllegalArgumentException e) {
            throw new TesseraException(merges + ": " + e.getMessage());
        }
        boolean prefixSpace = config.addPrefixSpace() != null && config.addPrefixSpace();
        TokenizerJson.Parts parts = new TokenizerJson.Parts(model, List.of(), null,
                new PreTokenizer.ByteLevel(prefixSpace, true), new Decoder.ByteLevel());
        String gpt2Default = model.id(GPT2_END_OF_TEXT) >= 0 ? GPT2_END_OF_TEXT : null;
        return assemble(parts, config.withDefaults(gpt2Default, gpt2Default, gpt2Default));
    }

    /**
     * Adds the config's added tokens, and every special token it names that is not yet an added
     * token (with the vocabulary's id, or the next free id as transformers gives it), then resolves
     * BOS/EOS/PAD.
     */
    private static Tokenizer assemble(TokenizerJson.Parts parts, TokenizerConfig config) {
        BpeModel model = parts.model();
        List<AddedTokens.Token> tokens = new ArrayList<>(parts.added());
        tokens.addAll(config.addedTokensDecoder());
        Map<String, Integer> addedIds = new HashMap<>();
        int nextId = model.size();
        for (AddedTokens.Token t : tokens) {
            addedIds.put(t.content(), t.id());
            nextId = Math.max(nextId, t.id() + 1);
        }
        for (String name : config.specialNames()) {
            if (name.isEmpty() || addedIds.containsKey(name)) {
                continue;
            }
            int id = model.id(name);
            if (id < 0) {
                id = nextId++;
            }
            tokens.add(new AddedTokens.Token(id, name, false, false, false, false, true));
            addedIds.put(name, id);
        }
        AddedTokens added = new AddedTokens(tokens, parts.normalizer());
        return new BpeTokenizer(model, added, parts.normalizer(), parts.preTokenizer(), parts.decoder(),
                idOf(config.bos(), addedIds), idOf(config.eos(), addedIds), idOf(config.pad(), addedIds));
    }

    private static int idOf(String name, Map<String, Integer> addedIds) {
        return name == null ? -1 : addedIds.getOrDefault(name, -1);
    }

    private static Map<String, Integer> readVocab(Path file) {
        JsonFile json = JsonFile.read(file);
        Map<String, Integer> vocab = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : json.root().properties()) {
            vocab.put(e.getKey(), json.integer(e.getValue(), "\"" + JsonFile.clip(e.getKey()) + "\"", TokenizerJson.MAX_ID));
        }
        return vocab;
    }

    /** GPT-2's merges.txt: an optional {@code #version} line, then one "a b" pair per line by rank. */
    private static String[][] readMerges(Path file) {
        List<String> lines;
        try {
            lines = List.of(StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)))
                    .toString().split("\n", -1));
        } catch (CharacterCodingException e) {
            throw new TesseraException(file + ": not valid UTF-8");
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot read: " + JsonFile.oneLine(String.valueOf(e.getMessage())), e);
        }
        List<String[]> merges = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).endsWith("\r") ? lines.get(i).substring(0, lines.get(i).length() - 1) : lines.get(i);
            if (line.isEmpty() || line.startsWith("#version")) {
                continue;
            }
            String[] parts = line.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new TesseraException(file + ": line " + (i + 1) + " is not two tokens separated by one space: \""
                        + JsonFile.clip(line) + "\"");
            }
            merges.add(parts);
        }
        return merges.toArray(new String[0][]);
    }
}
