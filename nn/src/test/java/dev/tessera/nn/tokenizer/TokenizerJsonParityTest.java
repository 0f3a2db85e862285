package dev.tessera.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.quicktheories.generators.Generate;

/**
 * Small trained vocabularies in each tokenizer.json layout Tessera reads, against HF's tokenizers
 * on the same file: ids for hand-picked and random text, and decoded text for random ids.
 */
class TokenizerJsonParityTest {
    @TempDir
    static Path tmp;

    enum Layout {
        LLAMA3, QWEN2, SMOLLM, ADDED_TOKEN_FLAGS, SENTENCEPIECE_LEGACY, METASPACE_FIRST, METASPACE_ALWAYS_SPLIT;

        Path write(Path dir) {
            return switch (this) {
                case LLAMA3 -> TokenizerFixtures.llama3Style(dir);
                case QWEN2 -> TokenizerFixtures.qwen2Style(dir);
                case SMOLLM -> TokenizerFixtures.smolLmStyle(dir);
                case ADDED_TOKEN_FLAGS -> TokenizerFixtures.addedTokenFlags(dir);
                case SENTENCEPIECE_LEGACY -> TokenizerFixtures.sentencePieceLegacy(dir);
                case METASPACE_FIRST -> TokenizerFixtures.sentencePieceMetaspace(dir, "first", false, false);
                case METASPACE_ALWAYS_SPLIT -> TokenizerFixtures.sentencePieceMetaspace(dir, "always", true, true);
            };
        }
    }

    private record Pair(Tokenizer tessera, HfOracle hf) {}

    private static final Map<Layout, Pair> LOADED = new EnumMap<>(Layout.class);

    private static Pair load(Layout layout) {
        return LOADED.computeIfAbsent(layout, l -> {
            Path dir = l.write(tmp.resolve(l.name().toLowerCase()));
            return new Pair(Tokenizers.load(dir), HfOracle.load(dir));
        });
    }

    @AfterAll
    static void close() {
        LOADED.values().forEach(p -> p.hf().close());
        LOADED.clear();
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void matchesHuggingFaceOnHandPickedStrings(Layout layout) {
        Pair p = load(layout);
        for (String s : Corpus.handPicked()) {
            assertArrayEquals(p.hf().encode(s), p.tessera().encode(s), () -> layout + " encoding " + Gpt2ParityTest.quote(s));
        }
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void matchesHuggingFaceOnRandomUnicode(Layout layout) {
        Pair p = load(layout);
        qt().withExamples(1000).withShrinkCycles(200).forAll(Texts.text())
                .check(s -> Arrays.equals(p.hf().encode(s), p.tessera().encode(s)));
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void matchesHuggingFaceOnLongMixedText(Layout layout) {
        Pair p = load(layout);
        String text = Gpt2ParityTest.mixedText(1 << 18, layout.ordinal());
        assertArrayEquals(p.hf().encode(text), p.tessera().encode(text));
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void decodesRandomIdsLikeHuggingFace(Layout layout) {
        Pair p = load(layout);
        int maxId = p.tessera().vocabSize() - 1;
        qt().withExamples(1000).forAll(Generate.intArrays(integers().between(0, 12), integers().between(0, maxId)))
                .check(ids -> p.hf().decode(ids).equals(p.tessera().decode(ids)));
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void decodesEncodedHandPickedStringsLikeHuggingFace(Layout layout) {
        Pair p = load(layout);
        for (String s : Corpus.handPicked()) {
            int[] ids = p.tessera().encode(s);
            assertEquals(p.hf().decode(ids), p.tessera().decode(ids), () -> layout + " decoding " + Gpt2ParityTest.quote(s));
        }
    }
}
