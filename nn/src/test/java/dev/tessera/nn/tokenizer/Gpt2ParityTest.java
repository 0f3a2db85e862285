package dev.tessera.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quicktheories.generators.Generate;

/**
 * GPT-2's real vocab.json + merges.txt, loaded by Tessera, against HF's tokenizers on the same
 * files converted to tokenizer.json. Skipped when the shared GPT-2 files are absent.
 */
class Gpt2ParityTest {
    @TempDir
    static Path tmp;

    private static Tokenizer tessera;
    private static HfOracle hf;

    @BeforeAll
    static void load() {
        TokenizerFixtures.gpt2Files().ifPresent(gpt2 -> {
            tessera = Tokenizers.load(gpt2);
            hf = HfOracle.load(TokenizerFixtures.gpt2TokenizerJson(gpt2, tmp.resolve("gpt2-json")));
        });
    }

    /** Per test, so that each one is reported as skipped when the files are absent. */
    @BeforeEach
    void requireGpt2Files() {
        Assumptions.assumeTrue(tessera != null, "GPT-2 files not found at ../shared/data/gpt2");
    }

    @AfterAll
    static void close() {
        if (hf != null) {
            hf.close();
        }
    }

    @Test
    void encodesTheDocumentedExample() {
        assertArrayEquals(new int[] {15496, 995}, tessera.encode("Hello world"));
        assertEquals("Hello world", tessera.decode(new int[] {15496, 995}));
    }

    @Test
    void knowsEndOfTextAsBosAndEos() {
        assertEquals(50257, tessera.vocabSize());
        assertEquals(50256, tessera.tokenId("<|endoftext|>").orElseThrow());
        assertEquals(50256, tessera.bosId().orElseThrow());
        assertEquals(50256, tessera.eosId().orElseThrow());
        assertEquals(true, tessera.padId().isEmpty());
    }

    @Test
    void matchesHuggingFaceOnHandPickedStrings() {
        for (String s : Corpus.handPicked()) {
            assertArrayEquals(hf.encode(s), tessera.encode(s), () -> "encoding " + quote(s));
        }
    }

    @Test
    void matchesHuggingFaceOnRandomUnicode() {
        qt().withExamples(2000).withShrinkCycles(200).forAll(Texts.text())
                .check(s -> Arrays.equals(hf.encode(s), tessera.encode(s)));
    }

    @Test
    void matchesHuggingFaceOnAMegabyteOfMixedText() {
        String text = mixedText(1 << 20, 7);
        assertArrayEquals(hf.encode(text), tessera.encode(text));
    }

    @Test
    void decodesRandomIdsLikeHuggingFace() {
        // Random ids split UTF-8 sequences anywhere: checks the U+FFFD replacement rules too.
        qt().withExamples(1000).forAll(Generate.intArrays(integers().between(0, 12), integers().between(0, 50256)))
                .check(ids -> hf.decode(ids).equals(tessera.decode(ids)));
    }

    @Test
    void roundTripsEveryString() {
        qt().withExamples(2000).forAll(Texts.text()).check(s -> tessera.decode(tessera.encode(s)).equals(s));
    }

    /** Text mixing every line of the corpus in random order, {@code chars} long. */
    static String mixedText(int chars, long seed) {
        var pool = Corpus.handPicked();
        Random random = new Random(seed);
        StringBuilder sb = new StringBuilder(chars + 1000);
        while (sb.length() < chars) {
            sb.append(pool.get(random.nextInt(pool.size()))).append(random.nextInt(4) == 0 ? "\n" : " ");
        }
        return sb.toString();
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().limit(200).forEach(cp -> {
            if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.append('"').toString();
    }
}
