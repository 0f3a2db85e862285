package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.M;
import static dev.tessera.training.data.TestData.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Collation pads a batch on the right to its longest example. */
class BatchTest {
    private final Example short2 = new Example(ints(5, 6), ints(M, 6));
    private final Example long4 = new Example(ints(7, 8, 9, 10), ints(7, 8, 9, 10));

    @Test
    void rowsArePaddedToTheLongestInTheBatch() {
        Batch batch = Batch.collate(List.of(short2, long4), 99);
        assertEquals(2, batch.size());
        assertEquals(4, batch.length());
        assertArrayEquals(ints(5, 6, 99, 99), batch.inputIds()[0]);
        assertArrayEquals(ints(7, 8, 9, 10), batch.inputIds()[1]);
    }

    @Test
    void paddingIsMaskedOutOfTheLossAndAttention() {
        Batch batch = Batch.collate(List.of(short2, long4), 99);
        assertArrayEquals(ints(M, 6, M, M), batch.labels()[0]);
        assertArrayEquals(ints(1, 1, 0, 0), batch.attentionMask()[0]);
        assertArrayEquals(ints(0, 0, -1, -1), batch.sequenceIds()[0]);
        assertArrayEquals(ints(0, 1, 0, 0), batch.positionIds()[0]);
    }

    @Test
    void thePadIdIsThePadTokenElseEos() {
        assertEquals(CharTokenizer.PAD, SftDataset.padIdOf(CharTokenizer.withPad()));
        assertEquals(CharTokenizer.EOS, SftDataset.padIdOf(CharTokenizer.llamaLike()));
    }
}
