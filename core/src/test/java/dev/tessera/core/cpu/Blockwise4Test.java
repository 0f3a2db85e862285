package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend's blockwise 4-bit quantizer ({@code Backend.quantize4bit}) against a plain
 * loop written here from the spec: per block the absmax, {@code x / absmax} in F32, the entry
 * of the code table at the least exact distance (the lower index on a tie), two codes per byte
 * with the first in the high nibble and an odd count padded with the code of 0. FP4 searches
 * the first eight entries on the magnitude and adds 8 for a negative quotient.
 */
class Blockwise4Test {
    private static final Backend CPU = Backends.cpu();

    /** A table in scrambled order whose midpoints are exact floats (multiples of 1/16), so ties can be hit exactly. */
    private static final float[] SCRAMBLED = scrambled();

    private static float[] scrambled() {
        int[] order = {9, 2, 14, 0, 7, 11, 4, 15, 1, 12, 6, 3, 13, 8, 5, 10};
        float[] code = new float[16];
        for (int i = 0; i < 16; i++) {
            code[i] = order[i] / 8f - 1f; // -1, -0.875, ..., 0.875 in scrambled order
        }
        return code;
    }

    /** Magnitudes for sign-magnitude search: the first eight entries scrambled, the rest their negatives. */
    private static final float[] SCRAMBLED_SIGNED = {0.5f, 0f, 0.875f, 0.25f, 0.125f, 0.75f, 0.375f, 0.625f,
        0f, -0.5f, -0.875f, -0.25f, -0.125f, -0.75f, -0.375f, -0.625f};

    // ------------------------------------------------------------------ the reference

    /** The entry among code[0..count) at the least exact distance to q, the lowest index on a tie. */
    private static int argmin(float[] code, int count, float q) {
        BigDecimal target = new BigDecimal(q);
        int best = -1;
        BigDecimal bestDistance = null;
        for (int i = 0; i < count; i++) {
            BigDecimal d = target.subtract(new BigDecimal(code[i])).abs();
            if (bestDistance == null || d.compareTo(bestDistance) < 0) {
                best = i;
                bestDistance = d;
            }
        }
        return best;
    }

    static int nearest(float[] code, boolean signMagnitude, float q) {
        if (signMagnitude) {
            return (q < 0 ? 8 : 0) + argmin(code, 8, Math.abs(q));
        }
        return argmin(code, 16, q);
    }

    record Quantized(long[] packed, float[] absmax, int[] codes, float mean) {}

    static Quantized reference(float[] x, float[] code, boolean signMagnitude, int blocksize) {
        int n = x.length, blocks = (n + blocksize - 1) / blocksize;
        float[] absmax = new float[blocks];
        int[] q = new int[n];
        int zero = nearest(code, signMagnitude, 0f);
        for (int b = 0; b < blocks; b++) {
            int start = b * blocksize, end = Math.min(n, start + blocksize);
            float max = 0f;
            for (int i = start; i < end; i++) {
                max = Math.max(max, Math.abs(x[i]));
            }
            absmax[b] = max;
            for (int i = start; i < end; i++) {
                q[i] = max == 0f ? zero : nearest(code, signMagnitude, x[i] / max);
            }
        }
        long[] packed = new long[(n + 1) / 2];
        for (int k = 0; k < packed.length; k++) {
            int high = q[2 * k], low = 2 * k + 1 < n ? q[2 * k + 1] : zero;
            packed[k] = high << 4 | low;
        }
        double sum = 0;
        for (float a : absmax) {
            sum += a;
        }
        return new Quantized(packed, absmax, q, (float) (sum / blocks));
    }

    // ------------------------------------------------------------------ running the backend

    record Result(long[] packed, float[] absmax, Float mean, Tensor packedTensor, Tensor absmaxTensor) {}

    private static Result quantize(float[] x, float[] code, boolean signMagnitude, int blocksize, boolean withMean) {
        int n = x.length, blocks = (n + blocksize - 1) / blocksize;
        Tensor packed = Tensor.zeros(DType.U8, Device.CPU, (n + 1) / 2);
        Tensor absmax = Tensor.zeros(DType.F32, Device.CPU, blocks);
        Tensor mean = withMean ? Tensor.zeros(DType.F32, Device.CPU, 1) : null;
        CPU.quantize4bit(Tensor.of(x, n), Tensor.of(code, 16), signMagnitude, blocksize, packed, absmax, mean);
        return new Result(packed.toLongArray(), absmax.toFloatArray(), withMean ? mean.item() : null, packed, absmax);
    }

    private static void agrees(float[] x, float[] code, boolean signMagnitude, int blocksize, String what) {
        Quantized expected = reference(x, code, signMagnitude, blocksize);
        Result got = quantize(x, code, signMagnitude, blocksize, true);
        assertArrayEquals(expected.absmax(), got.absmax(), what + ": absmax");
        for (int k = 0; k < expected.packed().length; k++) {
            int e = k;
            assertEquals(expected.packed()[k], got.packed()[k], () -> what + ": byte " + e + " (elements " + 2 * e
                    + ", " + (2 * e + 1) + " of " + x.length + ")");
        }
        assertEquals(expected.mean(), got.mean(), what + ": mean of absmax");
    }

    /** Gaussian values with an all-zero block, exact zeros, negative zeros and a tail. */
    private static float[] values(int n, int blocksize, long seed) {
        Random rng = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * (1 + 3 * rng.nextDouble()));
        }
        if (n > 2 * blocksize) {
            for (int i = blocksize; i < 2 * blocksize; i++) {
                x[i] = i % 3 == 0 ? -0f : 0f; // block 1: zeros only
            }
        }
        for (int i = 0; i < n; i += 7) {
            x[i] = i % 2 == 0 ? 0f : -0f;
        }
        return x;
    }

    // ------------------------------------------------------------------ the tests

    @Test
    void nf4AndFp4CodesEqualThePlainNearestSearchOverBlocksAndTails() {
        int[] sizes = {1, 2, 3, 7, 64, 65, 130, 257, 1001};
        int[] blocksizes = {2, 4, 30, 64};
        long seed = 1;
        for (int n : sizes) {
            for (int bs : blocksizes) {
                float[] x = values(n, bs, seed++);
                agrees(x, Quant4Fixtures.NF4, false, bs, "NF4 n=" + n + " bs=" + bs);
                agrees(x, Quant4Fixtures.FP4, true, bs, "FP4 n=" + n + " bs=" + bs);
            }
        }
    }

    @Test
    void tablesInAnyOrderWork() {
        // NF4 happens to be sorted; a scrambled table checks the search sorts it and maps back to indices
        for (int n : new int[] {33, 200}) {
            float[] x = values(n, 16, n);
            agrees(x, SCRAMBLED, false, 16, "scrambled n=" + n);
            agrees(x, SCRAMBLED_SIGNED, true, 16, "scrambled sign-magnitude n=" + n);
        }
    }

    @Test
    void exactMidpointsGoToTheLowerIndexAndTheirNeighboursToTheNearerEntry() {
        // with a block absmax of exactly 1 the quotient is x itself: midpoints, and one float either side
        for (boolean signMagnitude : new boolean[] {false, true}) {
            float[] code = signMagnitude ? SCRAMBLED_SIGNED : SCRAMBLED;
            float[] x = new float[2 * 3 * 16 + 2];
            int i = 0;
            for (int k = -8; k < 8; k++) {
                float mid = (2 * k + 1) / 16f; // odd multiples of 1/16 in (-1, 1): every midpoint of both tables
                for (float v : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                    x[i++] = v;
                    x[i++] = -v;
                }
            }
            x[i++] = 1f; // absmax 1: the quotients are the values themselves
            x[i] = -1f;
            Quantized expected = reference(x, code, signMagnitude, x.length);
            assertEquals(1f, expected.absmax()[0]);
            Result got = quantize(x, code, signMagnitude, x.length, false);
            assertArrayEquals(expected.packed(), got.packed(), signMagnitude ? "sign-magnitude" : "signed");
            assertNull(got.mean());
        }
        // worked by hand: in SCRAMBLED, -1 is entry 3, -0.875 entry 8, 0 entry 13, 0.875 entry 7;
        // -0.9375 ties -1 and -0.875: entry 3, the lower index;
        // -0.8125 ties -0.875 (entry 8) and -0.75 (entry 1): entry 1, the lower index though the higher value
        float[] ties = {-0.9375f, 0f, 1f, 0.875f, -0.8125f, -0.8125f};
        long[] packed = quantize(ties, SCRAMBLED, false, 6, false).packed();
        assertArrayEquals(new long[] {3 << 4 | 13, 7 << 4 | 7, 1 << 4 | 1}, packed);
    }

    @Test
    void zeroBlocksTakeTheCodeOfZeroAndAbsmaxZero() {
        float[] x = new float[9];
        x[8] = -0f;
        Result nf4 = quantize(x, Quant4Fixtures.NF4, false, 4, true);
        assertArrayEquals(new long[] {0x77, 0x77, 0x77, 0x77, 0x77}, nf4.packed(), "NF4's zero is entry 7, padding too");
        assertArrayEquals(new float[3], nf4.absmax());
        assertEquals(0f, nf4.mean());
        Result fp4 = quantize(x, Quant4Fixtures.FP4, true, 4, true);
        assertArrayEquals(new long[5], fp4.packed(), "FP4's zero is entry 0 (not the negative half)");
        // a zero beside non-zeros, and a negative zero, in FP4: magnitude 0, positive half
        Result mixed = quantize(new float[] {0f, 1f, -0f, -1f}, Quant4Fixtures.FP4, true, 4, false);
        assertArrayEquals(new long[] {0 << 4 | 3, 0 << 4 | 11}, mixed.packed());
    }

    @Test
    void oddCountsPadTheLastByteWithTheCodeOfZero() {
        // one element: high nibble its code, low nibble the zero code
        assertArrayEquals(new long[] {15 << 4 | 7}, quantize(new float[] {2.5f}, Quant4Fixtures.NF4, false, 2, false).packed());
        assertArrayEquals(new long[] {(8 + 3) << 4}, quantize(new float[] {-2.5f}, Quant4Fixtures.FP4, true, 2, false).packed());
        float[] x = {1f, -1f, 0.5f, -0.5f, 0.25f};
        Result r = quantize(x, Quant4Fixtures.FP4, true, 4, true);
        // FP4 entries: 3 = 1, 5 = 0.5, 7 = 0.25; the tail block {0.25} has absmax 0.25, so 0.25 / 0.25 = 1 (entry 3)
        assertArrayEquals(new long[] {3 << 4 | 11, 5 << 4 | 13, 3 << 4}, r.packed());
        assertArrayEquals(new float[] {1f, 0.25f}, r.absmax());
        assertEquals(0.625f, r.mean(), "(1 + 0.25) / 2");
    }

    @Test
    void theMeanOfAbsmaxIsSummedInDoubleAndRoundedOnce() {
        // three blocks whose float sum would round: 1, 2^-24 and 2^-24; in double the sum keeps them
        float tiny = (float) Math.pow(2, -24);
        float[] x = {1f, 0f, tiny, 0f, tiny, 0f};
        Result r = quantize(x, Quant4Fixtures.NF4, false, 2, true);
        assertArrayEquals(new float[] {1f, tiny, tiny}, r.absmax());
        assertTrue((float) ((1.0 + 2.0 * tiny) / 3) != (1f + tiny + tiny) / 3, "the case tells double from float sums");
        assertEquals((float) ((1.0 + 2.0 * tiny) / 3), r.mean());
    }

    @Test
    void theDequantizerGivesBackTheNearestCodeTimesTheBlockScale() {
        int rows = 7, cols = 37, bs = 64, n = rows * cols;
        float[] x = values(n, bs, 42);
        for (boolean nf4 : new boolean[] {true, false}) {
            float[] code = nf4 ? Quant4Fixtures.NF4 : Quant4Fixtures.FP4;
            Quantized expected = reference(x, code, !nf4, bs);
            Result got = quantize(x, code, !nf4, bs, false);
            Tensor out = Tensor.zeros(DType.F32, Device.CPU, n);
            CPU.dequantize4bit(Packed4Bit.plain(got.packedTensor(), Tensor.of(code, 16), bs, got.absmaxTensor(), rows, cols),
                    DType.F32, out);
            float[] back = out.toFloatArray();
            // the largest half-gap between neighbouring codes bounds the round-trip error per unit of absmax
            float[] sorted = java.util.Arrays.copyOf(code, nf4 ? 16 : 8);
            java.util.Arrays.sort(sorted);
            float halfGap = 0f;
            for (int k = 0; k + 1 < sorted.length; k++) {
                halfGap = Math.max(halfGap, (sorted[k + 1] - sorted[k]) / 2);
            }
            for (int i = 0; i < n; i++) {
                float scale = expected.absmax()[i / bs];
                assertEquals(code[expected.codes()[i]] * scale, back[i], "element " + i);
                assertTrue(Math.abs(back[i] - x[i]) <= halfGap * scale + 1e-5f * scale, "round trip of element " + i);
            }
        }
    }

    @Test
    void nonFiniteValuesAreRefused() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] x = {1f, 2f, 3f, bad, 5f};
            TesseraException e = assertThrows(TesseraException.class,
                    () -> quantize(x, Quant4Fixtures.NF4, false, 2, false));
            assertTrue(e.getMessage().contains("non-finite value " + bad + " at index 3"), e.getMessage());
        }
    }

    @Test
    void badBlocksizesAndBadTensorsAreRefused() {
        float[] x = values(9, 2, 5);
        Tensor xs = Tensor.of(x, 9), code = Tensor.of(Quant4Fixtures.NF4, 16);
        Tensor packed = Tensor.zeros(DType.U8, Device.CPU, 5), absmax = Tensor.zeros(DType.F32, Device.CPU, 3);
        for (int bs : new int[] {0, -2, 1, 3, 5}) {
            TesseraException e = assertThrows(TesseraException.class,
                    () -> CPU.quantize4bit(xs, code, false, bs, packed, absmax, null));
            assertTrue(e.getMessage().contains("blocksize must be even and positive, got " + bs), e.getMessage());
        }
        Tensor mean = Tensor.zeros(DType.F32, Device.CPU, 1);
        Tensor[][] bad = {
            {xs.cast(DType.BF16), code, packed, absmax, mean},
            {Tensor.of(x, 3, 3).t(), code, packed, absmax, mean},
            {xs, code.cast(DType.BF16), packed, absmax, mean},
            {xs, Tensor.zeros(15), packed, absmax, mean},
            {xs, code, packed.cast(DType.F32), absmax, mean},
            {xs, code, Tensor.zeros(DType.U8, Device.CPU, 4), absmax, mean},
            {xs, code, Tensor.zeros(DType.U8, Device.CPU, 10).reshape(5, 2).narrow(1, 0, 1), absmax, mean},
            {xs, code, packed, absmax.cast(DType.BF16), mean},
            {xs, code, packed, Tensor.zeros(4), mean},
            {xs, code, packed, Tensor.zeros(6).reshape(3, 2).narrow(1, 0, 1), mean},
            {xs, code, packed, absmax, mean.cast(DType.BF16)},
            {xs, code, packed, absmax, Tensor.zeros(2)},
        };
        for (int c = 0; c < bad.length; c++) {
            Tensor[] a = bad[c];
            TesseraException e = assertThrows(TesseraException.class,
                    () -> CPU.quantize4bit(a[0], a[1], false, 4, a[2], a[3], a[4]), "case " + c);
            assertTrue(e.getMessage().contains("U8 packed [5], F32 absmax [3]"), e.getMessage());
        }
        // the same tensors with blocksize 4 are accepted, with and without the mean
        CPU.quantize4bit(xs, code, false, 4, packed, absmax, mean);
        CPU.quantize4bit(xs, code, false, 4, packed, absmax, null);
    }
}
