package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.M;
import static dev.tessera.training.data.TestData.ints;
import static dev.tessera.training.data.TestData.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Packing puts whole short examples side by side in rows of at most max_length tokens. */
class PackingTest {
    @TempDir
    Path dir;

    /** An example of {@code n} tokens whose ids start at {@code first} and are all labelled. */
    private static Example example(int first, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = first + i;
        }
        return new Example(ids, ids.clone());
    }

    @Test
    void examplesShareARowWhileTheyFitAndKeepTheirOrder() {
        List<Example> packed = Packing.pack(List.of(example(10, 3), example(20, 2), example(30, 4)), 5);
        assertEquals(2, packed.size());
        assertArrayEquals(ints(10, 11, 12, 20, 21), packed.get(0).inputIds());
        assertArrayEquals(ints(3, 2), packed.get(0).segmentLengths());
        assertArrayEquals(ints(30, 31, 32, 33), packed.get(1).inputIds());
    }

    @Test
    void theFirstLabelOfEachPackedExampleIsMasked() {
        Example row = Packing.pack(List.of(example(10, 3), example(20, 2)), 8).get(0);
        // Without the mask, the end of the first example would be trained to predict the start of the next.
        assertArrayEquals(ints(M, 11, 12, M, 21), row.labels());
    }

    @Test
    void eachExampleGoesWhereItFitsMostTightly() {
        // 4 leaves room 1, 3 leaves room 2: the 1-token example fills the first row exactly.
        List<Example> packed = Packing.pack(List.of(example(10, 4), example(20, 3), example(30, 1)), 5);
        assertArrayEquals(ints(4, 1), packed.get(0).segmentLengths());
        assertArrayEquals(ints(3), packed.get(1).segmentLengths());
    }

    @Test
    void packingKeepsEveryTokenAndRespectsMaxLength() {
        qt().withExamples(300)
                .forAll(lists().of(integers().between(1, 16)).ofSizeBetween(1, 40), integers().between(16, 40))
                .checkAssert((lengths, maxLength) -> {
                    List<Example> examples = new ArrayList<>();
                    for (int i = 0; i < lengths.size(); i++) {
                        examples.add(example(1000 * i, lengths.get(i)));
                    }
                    List<Example> packed = Packing.pack(examples, maxLength);
                    List<Integer> seen = new ArrayList<>();
                    for (Example row : packed) {
                        assertTrue(row.length() <= maxLength);
                        int at = 0;
                        for (int segment : row.segmentLengths()) {
                            seen.add(row.inputIds()[at] / 1000);
                            assertEquals(row.inputIds()[at] % 1000, 0, "segments start at example starts");
                            at += segment;
                        }
                    }
                    seen.sort(null);
                    List<Integer> all = new ArrayList<>();
                    for (int i = 0; i < lengths.size(); i++) {
                        all.add(i);
                    }
                    assertEquals(all, seen);
                });
    }

    @Test
    void aPackedBatchRestartsPositionsAndNumbersSequencesPerExample() {
        Example row = Packing.pack(List.of(example(10, 3), example(20, 2)), 8).get(0);
        Batch batch = Batch.collate(List.of(row, example(30, 7)), 0);
        assertArrayEquals(ints(0, 1, 2, 0, 1, 0, 0), batch.positionIds()[0]);
        assertArrayEquals(ints(0, 0, 0, 1, 1, -1, -1), batch.sequenceIds()[0]);
        assertArrayEquals(ints(1, 1, 1, 1, 1, 0, 0), batch.attentionMask()[0]);
        assertArrayEquals(ints(0, 1, 2, 3, 4, 5, 6), batch.positionIds()[1]);
        assertArrayEquals(ints(0, 0, 0, 0, 0, 0, 0), batch.sequenceIds()[1]);
    }

    @Test
    void datasetPackingPacksTokenizedRows() {
        Path file = write(dir, "d.jsonl", """
                {"input_ids": [1, 2, 3]}
                {"input_ids": [4, 5]}
                {"input_ids": [6, 7, 8, 9]}
                """);
        SftDataset data = SftDataset.load(file, CharTokenizer.llamaLike(),
                DataOptions.defaults().withPacking(true).withMaxLength(5));
        assertEquals(3, data.rows());
        assertEquals(2, data.examples().size());
        assertArrayEquals(ints(1, 2, 3, 4, 5), data.examples().get(0).inputIds());
        assertArrayEquals(ints(M, 2, 3, M, 5), data.examples().get(0).labels());
    }
}
