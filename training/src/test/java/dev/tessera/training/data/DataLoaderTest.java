package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Batches epoch after epoch, shuffled reproducibly, resumable exactly. */
class DataLoaderTest {
    /** Example i is the single token i, so a batch's first column names its examples. */
    private static List<Example> numbered(int n) {
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            examples.add(new Example(ints(i), ints(i)));
        }
        return examples;
    }

    private static int[] firstTokens(Batch batch) {
        return Arrays.stream(batch.inputIds()).mapToInt(row -> row[0]).toArray();
    }

    /** The example numbers of one whole epoch, read batch by batch. */
    private static List<Integer> epochOrder(DataLoader loader) {
        List<Integer> order = new ArrayList<>();
        for (int b = 0; b < loader.batchesPerEpoch(); b++) {
            Arrays.stream(firstTokens(loader.next())).forEach(order::add);
        }
        return order;
    }

    @Test
    void withoutShufflingBatchesFollowFileOrderAndTheLastMayBeShort() {
        DataLoader loader = new DataLoader(numbered(5), 2, 0, false, 1);
        assertArrayEquals(ints(0, 1), firstTokens(loader.next()));
        assertArrayEquals(ints(2, 3), firstTokens(loader.next()));
        assertArrayEquals(ints(4), firstTokens(loader.next()));
        assertArrayEquals(ints(0, 1), firstTokens(loader.next()), "then the next epoch begins");
        assertEquals(1, loader.epoch());
    }

    @Test
    void eachEpochVisitsEveryExampleOnce() {
        qt().withExamples(100).forAll(integers().between(1, 50), integers().between(1, 8), longs().all())
                .checkAssert((n, batchSize, seed) -> {
                    DataLoader loader = new DataLoader(numbered(n), batchSize, 0, true, seed);
                    for (int epoch = 0; epoch < 3; epoch++) {
                        List<Integer> order = epochOrder(loader);
                        order.sort(null);
                        assertEquals(n, order.size());
                        for (int i = 0; i < n; i++) {
                            assertEquals(i, order.get(i));
                        }
                    }
                });
    }

    @Test
    void theSameSeedGivesTheSameOrder() {
        assertEquals(epochOrder(new DataLoader(numbered(30), 4, 0, true, 7)),
                epochOrder(new DataLoader(numbered(30), 4, 0, true, 7)));
        assertNotEquals(epochOrder(new DataLoader(numbered(30), 4, 0, true, 7)),
                epochOrder(new DataLoader(numbered(30), 4, 0, true, 8)));
    }

    @Test
    void eachEpochIsShuffledDifferently() {
        DataLoader loader = new DataLoader(numbered(30), 4, 0, true, 7);
        List<Integer> first = epochOrder(loader);
        List<Integer> second = epochOrder(loader);
        assertNotEquals(first, second);
        assertNotEquals(numberedOrder(30), first, "and not in file order");
    }

    private static List<Integer> numberedOrder(int n) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        return order;
    }

    @Test
    void aRestoredLoaderContinuesWithExactlyTheSameBatches() {
        qt().withExamples(100)
                .forAll(integers().between(1, 40), integers().between(1, 6), longs().all(), integers().between(0, 60))
                .checkAssert((n, batchSize, seed, stepsBeforeSave) -> {
                    DataLoader original = new DataLoader(numbered(n), batchSize, 0, true, seed);
                    for (int s = 0; s < stepsBeforeSave; s++) {
                        original.next();
                    }
                    DataLoader.State saved = original.state();
                    DataLoader resumed = new DataLoader(numbered(n), batchSize, 0, true, seed);
                    resumed.restore(saved);
                    for (int s = 0; s < 2 * resumed.batchesPerEpoch() + 1; s++) {
                        assertArrayEquals(firstTokens(original.next()), firstTokens(resumed.next()));
                    }
                    assertEquals(original.state(), resumed.state());
                });
    }

    @Test
    void stateCountsEpochsAndExamplesTaken() {
        DataLoader loader = new DataLoader(numbered(5), 2, 0, false, 1);
        assertEquals(new DataLoader.State(0, 0), loader.state());
        loader.next();
        loader.next();
        loader.next();
        assertEquals(new DataLoader.State(0, 5), loader.state());
        loader.next();
        assertEquals(new DataLoader.State(1, 2), loader.state());
    }

    @Test
    void aStateFromAnotherDatasetIsRejected() {
        DataLoader loader = new DataLoader(numbered(5), 2, 0, false, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> loader.restore(new DataLoader.State(0, 9)));
        assertTrue(e.getMessage().contains("with 5 examples"), e.getMessage());
    }
}
