package dev.tessera.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code decode(encode(s)).equals(s)}: exact for byte-level BPE, and for SentencePiece-style text without ▁ or specials. */
class RoundTripTest {
    @TempDir
    static Path tmp;

    private static Tokenizer llama3;
    private static Tokenizer smolLm;
    private static Tokenizer sentencePiece;

    @BeforeAll
    static void load() {
        llama3 = Tokenizers.load(TokenizerFixtures.llama3Style(tmp.resolve("llama3")));
        smolLm = Tokenizers.load(TokenizerFixtures.smolLmStyle(tmp.resolve("smollm")));
        sentencePiece = Tokenizers.load(TokenizerFixtures.sentencePieceLegacy(tmp.resolve("sp")));
    }

    @Test
    void byteLevelWithSplitRegexRoundTripsArbitraryUnicode() {
        qt().withExamples(3000).forAll(Texts.text()).check(s -> llama3.decode(llama3.encode(s)).equals(s));
    }

    @Test
    void byteLevelWithDigitsRoundTripsArbitraryUnicode() {
        qt().withExamples(3000).forAll(Texts.text()).check(s -> smolLm.decode(smolLm.encode(s)).equals(s));
    }

    @Test
    void byteLevelRoundTripsLongWhitespaceRunsAndControls() {
        for (String s : List.of(" ".repeat(5000), "\n".repeat(3000), "\t \r\n".repeat(1000), "x" + "\u3000".repeat(777) + "y",
                "\u0000".repeat(100), "\u007f\u0085\u0080\u009f", "😀".repeat(2000))) {
            assertEquals(s, llama3.decode(llama3.encode(s)));
        }
    }

    @Test
    void byteLevelRoundTripsSurrogatePairsAtEveryPlane() {
        StringBuilder sb = new StringBuilder();
        for (int cp = 0x10000; cp <= 0x10FFFF; cp += 0x1111) {
            sb.appendCodePoint(cp).append(cp % 3 == 0 ? " " : "");
        }
        String s = sb.toString();
        assertEquals(s, llama3.decode(llama3.encode(s)));
    }

    @Test
    void loneSurrogatesBecomeReplacementCharacters() {
        // UTF-8 cannot carry a lone surrogate; it is encoded as U+FFFD, as Java's own encoder would.
        assertEquals("a\uFFFDb\uFFFD", llama3.decode(llama3.encode("a\uD800b\uDC00")));
    }

    @Test
    void sentencePieceRoundTripsTextWithoutMetaspaceOrSpecialTokens() {
        // Every special token starts with '<'; '▁' in the text would decode as a space.
        qt().withExamples(2000).forAll(Texts.text().map(s -> s.replace('▁', '_').replace('<', '(')))
                .check(s -> sentencePiece.decode(sentencePiece.encode(s)).equals(s));
    }

    @Test
    void tokenizesAFewMegabytesInSeconds() {
        String text = Gpt2ParityTest.mixedText(4 << 20, 11);
        long start = System.nanoTime();
        int[] ids = llama3.encode(text);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(ids.length > 0);
        assertTrue(seconds < 20, "4 MiB took " + seconds + " s");
    }
}
