package dev.tessera.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The behaviour of each pipeline step on small, hand-checked examples (HF's own test cases where they exist). */
class PipelineStepsTest {

    private static List<String> split(PreTokenizer pre, String text) {
        List<String> pieces = new ArrayList<>();
        pre.split(text, true, (piece, atStart) -> pieces.add(piece));
        return pieces;
    }

    private static PreTokenizer splitOn(String literal, SplitBehavior behavior) {
        return new PreTokenizer.Split(new SplitPattern.Literal(literal), behavior, false);
    }

    @Test
    void splitBehaviorsTreatTheMatchAsDocumented() {
        String text = "Hello, world";
        assertEquals(List.of("Hello", " world"), split(splitOn(",", SplitBehavior.REMOVED), text));
        assertEquals(List.of("Hello", ",", " world"), split(splitOn(",", SplitBehavior.ISOLATED), text));
        assertEquals(List.of("Hello,", " world"), split(splitOn(",", SplitBehavior.MERGED_WITH_PREVIOUS), text));
        assertEquals(List.of("Hello", ", world"), split(splitOn(",", SplitBehavior.MERGED_WITH_NEXT), text));
    }

    @Test
    void contiguousJoinsRunsOfMatches() {
        assertEquals(List.of("a", "---", "b", "-"), split(splitOn("-", SplitBehavior.CONTIGUOUS), "a---b-"));
    }

    @Test
    void invertedSplitKeepsWhatTheRegexMatches() {
        assertEquals(List.of("Hey", "friend", "!"), split(new PreTokenizer.Whitespace(), "Hey friend!"));
    }

    @Test
    void digitsAreIsolatedOrKeptTogether() {
        assertEquals(List.of("Hey ", "1", "2", "3", " friend!"), split(new PreTokenizer.Digits(true), "Hey 123 friend!"));
        assertEquals(List.of("Hey ", "123", " friend!"), split(new PreTokenizer.Digits(false), "Hey 123 friend!"));
    }

    @Test
    void metaspaceReplacesSpacesAndSplitsBeforeEachMarker() {
        var always = new PreTokenizer.Metaspace('▁', PreTokenizer.Metaspace.Prepend.ALWAYS, true);
        assertEquals(List.of("▁Hey", "▁", "▁", "▁friend!"), split(always, "Hey   friend!"));
    }

    @Test
    void metaspacePrependsOnlyAtTheStartOfTheInputWhenFirst() {
        var first = new PreTokenizer.Metaspace('▁', PreTokenizer.Metaspace.Prepend.FIRST, false);
        List<String> pieces = new ArrayList<>();
        first.split("a b", true, (p, s) -> pieces.add(p));
        first.split("a b", false, (p, s) -> pieces.add(p));
        assertEquals(List.of("▁a▁b", "a▁b"), pieces);
    }

    @Test
    void gpt2RegexSplitsContractionsWordsNumbersAndSpaces() {
        var gpt2 = new PreTokenizer.Split(SplitPattern.regex(ByteMap.GPT2_PATTERN), SplitBehavior.ISOLATED, false);
        assertEquals(List.of("I", "'m", " here", ",", " 42", "   ", " x", "  "), split(gpt2, "I'm here, 42    x  "));
    }

    @Test
    void bytesMapToPrintableStandInsAndBack() {
        assertEquals("Ġ", String.valueOf(ByteMap.charOf(' ')));
        assertEquals("Ċ", String.valueOf(ByteMap.charOf('\n')));
        assertEquals("ðŁĺĢ", ByteMap.toByteChars("😀"));
    }

    @Test
    void mergesApplyLowestRankFirst() {
        var vocab = Map.of("a", 0, "b", 1, "c", 2, "bc", 3, "ab", 4, "abc", 5);
        // "b c" outranks "a b", so "abc" becomes a + bc, and no merge joins those two.
        var model = new BpeModel(vocab, new String[][] {{"b", "c"}, {"a", "b"}}, null, false, false, false, null, null);
        IntList ids = new IntList(4);
        model.encode("abc", ids);
        assertArrayEquals(new int[] {0, 3}, ids.toArray());
    }

    @Test
    void equalRankPairsMergeLeftmostFirst() {
        var vocab = Map.of("a", 0, "aa", 1);
        var model = new BpeModel(vocab, new String[][] {{"a", "a"}}, null, false, false, false, null, null);
        IntList ids = new IntList(4);
        model.encode("aaa", ids);
        assertArrayEquals(new int[] {1, 0}, ids.toArray());
    }

    @Test
    void unknownCharactersFallBackToBytesThenToAFusedUnknown() {
        var vocab = Map.of("<unk>", 0, "a", 1, "<0xC3>", 2, "<0xA9>", 3);
        var withFallback = new BpeModel(vocab, new String[0][], "<unk>", true, true, false, null, null);
        IntList ids = new IntList(8);
        withFallback.encode("aéa", ids);
        assertArrayEquals(new int[] {1, 2, 3, 1}, ids.toArray());
        IntList unknown = new IntList(8);
        withFallback.encode("a😀😀a", unknown);
        assertArrayEquals(new int[] {1, 0, 1}, unknown.toArray());
    }

    @Test
    void unknownCharactersAreDroppedWithoutAnUnknownToken() {
        var model = new BpeModel(Map.of("a", 0), new String[0][], null, false, false, false, null, null);
        IntList ids = new IntList(4);
        model.encode("xax", ids);
        assertArrayEquals(new int[] {0}, ids.toArray());
    }

    @Test
    void ignoreMergesTakesWholeWordsFromTheVocabulary() {
        // "abc" is in the vocabulary but no merge path leads to it.
        var vocab = Map.of("a", 0, "b", 1, "c", 2, "abc", 3);
        IntList whole = new IntList(4);
        new BpeModel(vocab, new String[0][], null, false, false, true, null, null).encode("abc", whole);
        assertArrayEquals(new int[] {3}, whole.toArray());
        IntList merged = new IntList(4);
        new BpeModel(vocab, new String[0][], null, false, false, false, null, null).encode("abc", merged);
        assertArrayEquals(new int[] {0, 1, 2}, merged.toArray());
    }

    @Test
    void aMergeWhoseResultIsNotInTheVocabularyIsRefused() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new BpeModel(Map.of("a", 0, "b", 1), new String[][] {{"a", "b"}}, null, false, false, false, null, null));
        assertEquals("merge 1 uses \"ab\", which is not in the vocabulary", e.getMessage());
    }

    private static List<Object> splitAdded(AddedTokens added, String text) {
        List<Object> out = new ArrayList<>();
        added.splitRaw(text, true, new AddedTokens.Sink() {
            @Override
            public void text(String t, boolean atStart) {
                out.add(t);
            }

            @Override
            public void token(int id) {
                out.add(id);
            }
        });
        return out;
    }

    private static AddedTokens.Token token(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip) {
        return new AddedTokens.Token(id, content, singleWord, lstrip, rstrip, false, true);
    }

    @Test
    void addedTokensMatchLeftmostLongest() {
        var added = new AddedTokens(List.of(token(1, "<a>", false, false, false), token(2, "<a><b>", false, false, false)), null);
        assertEquals(List.of("x", 2, 1, "y"), splitAdded(added, "x<a><b><a>y"));
    }

    @Test
    void addedTokensSwallowWhitespaceWhenStripping() {
        var added = new AddedTokens(List.of(token(1, "<m>", false, true, true)), null);
        assertEquals(List.of("a", 1, "b"), splitAdded(added, "a  <m>\t b"));
    }

    @Test
    void singleWordTokensMatchOnlyBetweenWordBoundaries() {
        var added = new AddedTokens(List.of(token(1, "cat", true, false, false)), null);
        assertEquals(List.of(1, " ", 1, ". cats scat"), splitAdded(added, "cat cat. cats scat"));
    }

    @Test
    void byteFallbackDecodingJoinsBytesOrReplacesEachBadByte() {
        var decoder = new Decoder.ByteFallback();
        assertEquals(List.of("a", "é", "b"), decoder.decode(List.of("a", "<0xC3>", "<0xA9>", "b")));
        assertEquals(List.of("\uFFFD", "\uFFFD", "b"), decoder.decode(List.of("<0xC3>", "<0xC3>", "b")));
    }

    @Test
    void stripRemovesAtMostTheGivenCounts() {
        assertEquals(List.of("ey", " friend!", "HH"), new Decoder.Strip('H', 1, 0).decode(List.of("Hey", " friend!", "HHH")));
        assertEquals(List.of("He", " friend!"), new Decoder.Strip('y', 0, 1).decode(List.of("Hey", " friend!")));
    }

    @Test
    void metaspaceDecodingDropsTheMarkersOfTheFirstToken() {
        assertEquals(List.of("Hey", " friend!"), new Decoder.Metaspace('▁', true).decode(List.of("▁Hey", "▁friend!")));
        assertEquals(List.of(" Hey", " friend!"), new Decoder.Metaspace('▁', false).decode(List.of("▁Hey", "▁friend!")));
    }

    @Test
    void lossyUtf8WritesOneReplacementPerMaximalInvalidPart() {
        assertEquals("\uFFFDA", lossy(0xF0, 0x9F, 0x98, 'A'));
        assertEquals("\uFFFD\uFFFD", lossy(0xE0, 0x80));
        assertEquals("\uFFFD\uFFFD\uFFFD", lossy(0xED, 0xA0, 0x80));
        assertEquals("\uFFFDA", lossy(0xC0, 'A'));
        assertEquals("é😀", lossy(0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80));
    }

    private static String lossy(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        return Utf8.decodeLossy(bytes, bytes.length);
    }

    @Test
    void regexLettersFollowHuggingFacesUnicodeTables() {
        // U+31350 (CJK extension H, Unicode 15) is a letter to Java but not to HF's tokenizers.
        var gpt2 = new PreTokenizer.Split(SplitPattern.regex(ByteMap.GPT2_PATTERN), SplitBehavior.ISOLATED, false);
        assertEquals(List.of("\uD884\uDF50'", "s", " 中", "'s"), split(gpt2, "\uD884\uDF50's 中's"));
    }
}
