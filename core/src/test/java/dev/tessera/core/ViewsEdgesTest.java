package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * View ops at their edges, with PyTorch's shapes and strides: ranges that end at the dim's end,
 * negative dims, -1 in reshape, reshapes of strided and empty tensors (a view where PyTorch's
 * computeStride finds one, else a copy), expand of existing and new dims.
 */
class ViewsEdgesTest {

    private static Tensor iota(int... shape) {
        float[] v = new float[(int) Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return Tensor.of(v, shape);
    }

    @Test
    void narrowMayEndAtTheEndOfTheDimAndNoFurther() {
        Tensor x = iota(2, 6);
        assertArrayEquals(new float[] {4, 5, 10, 11}, x.narrow(1, 4, 2).toFloatArray());
        assertArrayEquals(new int[] {2, 0}, x.narrow(1, 6, 0).shape());
        assertArrayEquals(new float[] {6, 7, 8, 9, 10, 11}, x.narrow(-2, 1, 1).toFloatArray());
        TesseraException e = assertThrows(TesseraException.class, () -> x.narrow(1, 5, 2));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("range [5, 7) out of bounds for dim 1"), e.getMessage());
        assertThrows(TesseraException.class, () -> x.narrow(1, -1, 2));
        assertThrows(TesseraException.class, () -> x.narrow(1, 2, -1));
    }

    @Test
    void unsqueezeAndSqueezeTakeNegativeDimsWithPyTorchsStrides() {
        Tensor x = iota(2, 3);
        assertArrayEquals(new int[] {2, 3, 1}, x.unsqueeze(-1).shape());
        assertArrayEquals(new long[] {3, 1, 1}, x.unsqueeze(-1).strides());
        assertArrayEquals(new int[] {1, 2, 3}, x.unsqueeze(-3).shape());
        assertArrayEquals(new long[] {6, 3, 1}, x.unsqueeze(-3).strides());
        assertArrayEquals(new int[] {2, 1, 3}, x.unsqueeze(-2).shape());
        assertArrayEquals(new long[] {3, 3, 1}, x.unsqueeze(1).strides());
        assertArrayEquals(new int[] {2, 3, 1}, x.unsqueeze(2).shape());
        assertThrows(TesseraException.class, () -> x.unsqueeze(3));
        assertThrows(TesseraException.class, () -> x.unsqueeze(-4));
        Tensor y = iota(2, 1, 3);
        assertArrayEquals(new int[] {2, 3}, y.squeeze(1).shape());
        assertArrayEquals(new long[] {3, 1}, y.squeeze(-2).strides());
        assertArrayEquals(y.toFloatArray(), y.squeeze(1).toFloatArray());
        assertThrows(TesseraException.class, () -> y.squeeze(0));
    }

    @Test
    void reshapeInfersOneDimAndRefusesBadSizes() {
        Tensor x = iota(4, 6);
        assertArrayEquals(new int[] {3, 8}, x.reshape(3, -1).shape());
        assertArrayEquals(new int[] {2, 3, 4}, x.reshape(2, -1, 4).shape());
        assertThrows(TesseraException.class, () -> x.reshape(-1, -1));
        assertThrows(TesseraException.class, () -> x.reshape(4, -1, -1));
        assertThrows(TesseraException.class, () -> x.reshape(-2, 12));
        assertThrows(TesseraException.class, () -> x.reshape(5, -1));
        assertThrows(TesseraException.class, () -> x.reshape(5, 5));
        // empty tensors reshape to any shape of no elements, with contiguous strides
        Tensor empty = Tensor.zeros(0, 3);
        assertArrayEquals(new int[] {3, 0}, empty.reshape(3, 0).shape());
        assertArrayEquals(new int[] {0, 5}, empty.reshape(0, 5).shape());
    }

    @Test
    void reshapeOfAStridedTensorIsAViewWhenPyTorchWouldMakeOne() {
        Tensor base = iota(4, 6);
        Tensor x = base.narrow(1, 0, 3); // [4, 3], strides (6, 1)
        Tensor split = x.reshape(2, 2, 3);
        assertSame(base.storage(), split.storage(), "splitting the row dim is a view");
        assertArrayEquals(new long[] {12, 6, 1}, split.strides());
        assertArrayEquals(x.contiguous().toFloatArray(), split.toFloatArray());
        Tensor withOnes = x.reshape(4, 1, 3, 1);
        assertSame(base.storage(), withOnes.storage());
        assertArrayEquals(new long[] {6, 3, 1, 1}, withOnes.strides());
        Tensor flat = x.reshape(12); // rows 6 apart cannot be one stride: a copy
        assertNotSame(base.storage(), flat.storage());
        assertArrayEquals(new float[] {0, 1, 2, 6, 7, 8, 12, 13, 14, 18, 19, 20}, flat.toFloatArray());
        Tensor t = iota(3, 4).t(); // [4, 3], strides (1, 4)
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, t.reshape(2, 6).toFloatArray());
        assertArrayEquals(new long[] {1, 4}, t.reshape(4, 3).strides());
    }

    @Test
    void expandBroadcastsOnlyNewAndSizeOneDims() {
        Tensor row = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor e = row.expand(2, 3);
        assertArrayEquals(new long[] {0, 1}, e.strides());
        assertArrayEquals(new float[] {1, 2, 3, 1, 2, 3}, e.toFloatArray());
        assertArrayEquals(new float[] {1, 2, 3, 1, 2, 3}, row.expand(2, -1).toFloatArray());
        Tensor col = Tensor.of(new float[] {1, 2}, 2, 1);
        assertArrayEquals(new float[] {1, 1, 1, 2, 2, 2}, col.expand(2, 3).toFloatArray());
        assertThrows(TesseraException.class, () -> row.expand(-1, 3));
        assertArrayEquals(new int[] {0, 3}, row.expand(0, 3).shape(), "a new leading dim of size 0");
        assertThrows(TesseraException.class, () -> row.expand(2, 4));
    }
}
