package dev.tessera.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which files {@link Tokenizers#load} reads, what it takes from the configs, and how it reports bad input. */
class TokenizerFilesTest {
    @TempDir
    Path dir;

    /** A GPT-2-style vocabulary: the 256 byte characters, then "he", "Ġt", "Ġthe", then <|endoftext|>. */
    private void writeTinyGpt2() throws IOException {
        ObjectNode vocab = TokenizerFixtures.JSON.createObjectNode();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteMap.charOf(b)), b);
        }
        vocab.put("he", 256).put("Ġt", 257).put("Ġthe", 258).put("<|endoftext|>", 259);
        Files.writeString(dir.resolve("vocab.json"), vocab.toString());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nh e\nĠ t\nĠt he\n");
    }

    private static int id(char c) {
        return c;
    }

    @Test
    void readsGpt2VocabAndMergesWithEndOfTextAsBosAndEos() throws IOException {
        writeTinyGpt2();
        Tokenizer tok = Tokenizers.load(dir);
        assertArrayEquals(new int[] {id('t'), 256, 258}, tok.encode("the the"));
        assertEquals("the the", tok.decode(tok.encode("the the")));
        assertArrayEquals(new int[] {259, 258}, tok.encode("<|endoftext|> the"));
        assertEquals(259, tok.bosId().orElseThrow());
        assertEquals(259, tok.eosId().orElseThrow());
        assertTrue(tok.padId().isEmpty());
        assertEquals(260, tok.vocabSize());
    }

    @Test
    void addPrefixSpaceInTheConfigAppliesToGpt2Files() throws IOException {
        writeTinyGpt2();
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_prefix_space\": true}");
        assertArrayEquals(new int[] {258}, Tokenizers.load(dir).encode("the"));
    }

    @Test
    void prefersTokenizerJsonToVocabAndMerges() throws IOException {
        writeTinyGpt2();
        TokenizerFixtures.sentencePieceLegacy(dir);
        assertEquals(1, Tokenizers.load(dir).tokenId("<s>").orElseThrow());
    }

    @Test
    void takesBosEosAndPadFromTokenizerConfig() throws IOException {
        TokenizerFixtures.sentencePieceLegacy(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": {"__type": "AddedToken", "content": "</s>"}, "pad_token": "<unk>"}""");
        Tokenizer tok = Tokenizers.load(dir);
        assertEquals(1, tok.bosId().orElseThrow());
        assertEquals(2, tok.eosId().orElseThrow());
        assertEquals(0, tok.padId().orElseThrow());
    }

    @Test
    void hasNoBosOrEosWithoutAConfigThatNamesThem() {
        TokenizerFixtures.sentencePieceLegacy(dir);
        Tokenizer tok = Tokenizers.load(dir);
        assertTrue(tok.bosId().isEmpty());
        assertTrue(tok.eosId().isEmpty());
    }

    @Test
    void specialTokensMapOverridesTokenizerConfig() throws IOException {
        TokenizerFixtures.sentencePieceLegacy(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<s>\"}");
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"eos_token\": \"</s>\"}");
        assertEquals(2, Tokenizers.load(dir).eosId().orElseThrow());
    }

    @Test
    void aSpecialTokenMissingFromTheVocabularyGetsTheNextIdAndIsRecognised() throws IOException {
        TokenizerFixtures.llama3Style(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": \"<|pad|>\"}");
        Tokenizer tok = Tokenizers.load(dir);
        int pad = tok.padId().orElseThrow();
        assertEquals(tok.vocabSize() - 1, pad);
        assertArrayEquals(new int[] {pad, pad}, tok.encode("<|pad|><|pad|>"));
        assertEquals("<|pad|>", tok.decode(new int[] {pad}));
    }

    @Test
    void addedTokensDecoderInTheConfigAddsTokens() throws IOException {
        TokenizerFixtures.llama3Style(dir);
        int next = Tokenizers.load(dir).vocabSize();
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"added_tokens_decoder": {"%d": {"content": "<tool>", "lstrip": false, "normalized": false,
                 "rstrip": false, "single_word": false, "special": true}}}""".formatted(next));
        Tokenizer tok = Tokenizers.load(dir);
        assertEquals(next, tok.tokenId("<tool>").orElseThrow());
        assertEquals(next, tok.encode("a<tool>")[tok.encode("a<tool>").length - 1]);
    }

    @Test
    void decodeSkipsIdsThatNameNoToken() {
        TokenizerFixtures.llama3Style(dir);
        Tokenizer tok = Tokenizers.load(dir);
        int[] ids = tok.encode("Hello");
        int[] withJunk = new int[ids.length + 2];
        withJunk[0] = -5;
        System.arraycopy(ids, 0, withJunk, 1, ids.length);
        withJunk[ids.length + 1] = 1 << 30;
        assertEquals("Hello", tok.decode(withJunk));
    }

    @Test
    void aMissingFolderIsReported() {
        assertError(dir.resolve("nope"), "nope: not a folder");
    }

    @Test
    void aFolderWithoutTokenizerFilesIsReported() {
        assertError(dir, "no tokenizer.json, and no vocab.json + merges.txt");
    }

    @Test
    void vocabWithoutMergesIsReported() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{}");
        assertError(dir, "merges.txt: missing");
    }

    @Test
    void mergesWithoutVocabIsReported() throws IOException {
        Files.writeString(dir.resolve("merges.txt"), "");
        assertError(dir, "vocab.json: missing");
    }

    /** Faults of a tokenizer.json, each with what its one-line error must say. */
    static Stream<Arguments> badTokenizerJson() {
        return Stream.of(
                Arguments.of("malformed JSON, with its position", "{\"model\": {\"vocab\": {\"a\": 0,}}}",
                        "tokenizer.json: not valid JSON at line 1, column 29"),
                Arguments.of("an empty file", "",
                        "tokenizer.json: expected a JSON object"),
                Arguments.of("a field of the wrong type", "{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}",
                        "tokenizer.json: model.vocab must be an object"),
                Arguments.of("a negative id", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}",
                        "model.vocab[\"a\"] must be an integer from 0 to"),
                Arguments.of("an unsupported model type", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
                        "model.type \"Unigram\" is not supported (only BPE models are)"),
                Arguments.of("an unsupported pre-tokenizer, with its path", """
                {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}]},
                 "model": {"type": "BPE", "vocab": {}, "merges": []}}""",
                        "pre_tokenizer.pretokenizers[0].type \"BertPreTokenizer\" is not supported"),
                Arguments.of("a merge outside the vocabulary", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}",
                        "model: merge 1 uses \"ab\", which is not in the vocabulary"),
                Arguments.of("an invalid regex", """
                {"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"},
                 "model": {"type": "BPE", "vocab": {}, "merges": []}}""",
                        "pre_tokenizer.pattern.Regex is not a valid regex"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badTokenizerJson")
    void aBadTokenizerJsonIsReportedOnOneLine(String fault, String json, String expected) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), json);
        assertError(dir, expected);
    }

    @Test
    void aBadMergesLineIsNamed() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b c\n");
        assertError(dir, "merges.txt: line 2 is not two tokens separated by one space");
    }

    @Test
    void mergesThatAreNotUtf8AreReported() throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0}");
        Files.write(dir.resolve("merges.txt"), new byte[] {'a', ' ', (byte) 0xC3});
        assertError(dir, "merges.txt: not valid UTF-8");
    }

    @Test
    void aBrokenConfigIsReported() throws IOException {
        TokenizerFixtures.llama3Style(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": 5}");
        assertError(dir, "tokenizer_config.json: bos_token must be a string or an object");
    }

    private static void assertError(Path dir, String expected) {
        TesseraException e = assertThrows(TesseraException.class, () -> Tokenizers.load(dir));
        assertTrue(e.getMessage().contains(expected), () -> "message was: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), () -> "message has several lines: " + e.getMessage());
    }
}
