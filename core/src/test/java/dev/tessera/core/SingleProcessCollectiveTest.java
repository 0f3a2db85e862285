package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The one-rank collective: rank 0 of 1, data left as it is, and the F32-contiguous contract every collective checks. */
class SingleProcessCollectiveTest {
    private final Collective c = Collective.singleProcess();

    @Test
    void oneRankLeavesTheDataAsItIs() {
        assertEquals(0, c.rank());
        assertEquals(1, c.worldSize());
        assertEquals("single process", c.toString());
        float[] data = {1.5f, -2f, 3.25f};
        Tensor t = Tensor.of(data, 3);
        c.allReduceSum(t);
        c.broadcast(t, 0);
        c.barrier();
        assertArrayEquals(data, t.toFloatArray());
        double[] values = {4, 5};
        c.allReduceSum(values);
        assertArrayEquals(new double[] {4, 5}, values);
        c.close();
    }

    @Test
    void tensorsMustBeContiguousF32AndTheRootRankZero() {
        Tensor bf16 = Tensor.zeros(3).cast(DType.BF16), strided = Tensor.zeros(2, 3).t();
        TesseraException e = assertThrows(TesseraException.class, () -> c.allReduceSum(bf16));
        assertTrue(e.getMessage().endsWith("got BF16"), e.getMessage());
        e = assertThrows(TesseraException.class, () -> c.allReduceSum(strided));
        assertTrue(e.getMessage().endsWith("got F32 (not contiguous)"), e.getMessage());
        assertThrows(TesseraException.class, () -> c.broadcast(bf16, 0));
        assertThrows(TesseraException.class, () -> c.broadcast(strided, 0));
        e = assertThrows(TesseraException.class, () -> c.broadcast(Tensor.zeros(3), 1));
        assertTrue(e.getMessage().contains("root 1"), e.getMessage());
    }
}
