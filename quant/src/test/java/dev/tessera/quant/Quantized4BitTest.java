package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Quantized4BitTest {

    @Test
    void theFirstElementGoesInTheHighNibble() {
        Quantized4Bit q = Quantized4Bit.quantize(new float[] {1f, -1f, -1f, 1f}, new long[] {4}, QuantType.NF4, 64, false);
        assertArrayEquals(new byte[] {(byte) 0xF0, (byte) 0x0F}, q.packed());
        Quantized4Bit f = Quantized4Bit.quantize(new float[] {1f, -1f}, new long[] {2}, QuantType.FP4, 64, false);
        assertArrayEquals(new byte[] {(byte) 0x3B}, f.packed()); // +12/12 is 3, -12/12 is 11
    }

    @Test
    void anOddCountIsPaddedWithTheCodeOfZero() {
        Quantized4Bit nf4 = Quantized4Bit.quantize(new float[] {1f, 0.5f, -1f}, new long[] {3}, QuantType.NF4, 64, false);
        assertEquals(2, nf4.packed().length);
        assertEquals(0x07, nf4.packed()[1] & 0x0F);
        assertEquals(0x00, nf4.packed()[1] >>> 4 & 0x0F);
        Quantized4Bit fp4 = Quantized4Bit.quantize(new float[] {1f}, new long[] {1}, QuantType.FP4, 64, false);
        assertArrayEquals(new byte[] {(byte) 0x30}, fp4.packed());
        assertArrayEquals(new float[] {1f}, fp4.dequantize());
    }

    @Test
    void anAllZeroBlockHasAbsmaxZeroAndDecodesToZeros() {
        float[] x = new float[64];
        for (int i = 32; i < 64; i++) {
            x[i] = i - 40;
        }
        Quantized4Bit q = Quantized4Bit.quantize(x, new long[] {64}, QuantType.NF4, 32, false);
        assertEquals(0f, q.state().absmax()[0]);
        for (int i = 0; i < 16; i++) {
            assertEquals((byte) 0x77, q.packed()[i]);
        }
        float[] back = q.dequantize();
        for (int i = 0; i < 32; i++) {
            assertEquals(0f, back[i], 0f);
        }
        Quantized4Bit fp4 = Quantized4Bit.quantize(new float[64], new long[] {64}, QuantType.FP4, 64, false);
        assertArrayEquals(new byte[32], fp4.packed());
    }

    @Test
    void absmaxIsPerBlockOverTheFlattenedTensor() {
        float[] x = new float[2 * 48];
        x[5] = -3f;
        x[40] = 2f;    // second block of 32 starts at flat index 32
        x[95] = 0.5f;
        Quantized4Bit q = Quantized4Bit.quantize(x, new long[] {2, 48}, QuantType.NF4, 32, false);
        assertArrayEquals(new float[] {3f, 2f, 0.5f}, q.state().absmax());
        assertArrayEquals(new long[] {2, 48}, q.state().shape());
    }

    @Test
    void nf4ErrorOnGaussianMatchesBitsandbytes() {
        assertBlocksize64ErrorWithinFivePercentOf(QuantType.NF4, 0.072792, 0.203299);
    }

    @Test
    void fp4ErrorOnGaussianMatchesBitsandbytes() {
        assertBlocksize64ErrorWithinFivePercentOf(QuantType.FP4, 0.096545, 0.260130);
    }

    /** Mean absolute and relative round-trip errors at blocksize 64 within 5% of bitsandbytes' figures. */
    private static void assertBlocksize64ErrorWithinFivePercentOf(QuantType type, double bnbAbs, double bnbRel) {
        Errors e = errors(type, 64, false);
        System.out.printf("%s bs64: mean |x - x'| %.6f (bitsandbytes %.6f, ratio %.4f), relative %.6f (%.6f, ratio %.4f)%n",
                type, e.abs, bnbAbs, e.abs / bnbAbs, e.rel, bnbRel, e.rel / bnbRel);
        assertEquals(bnbAbs, e.abs, 0.05 * bnbAbs);
        assertEquals(bnbRel, e.rel, 0.05 * bnbRel);
    }

    @Test
    void doubleQuantizationKeepsTheErrorWithinBitsandbytesBounds() {
        for (QuantType type : QuantType.values()) {
            for (int bs : new int[] {32, 64, 128}) {
                Errors e = errors(type, bs, true);
                System.out.printf("%s bs%d double-quantized: mean |x - x'| %.6f, relative %.6f%n", type, bs, e.abs, e.rel);
                assertTrue(e.abs < 0.11, type + " bs" + bs + " error " + e.abs);
                assertTrue(e.rel < 0.28, type + " bs" + bs + " relative error " + e.rel);
            }
        }
    }

    @Test
    void doubleQuantizedAbsmaxFollowsTheNestedFormula() {
        float[] x = gaussian(64 * 600, 3);
        Quantized4Bit q = Quantized4Bit.quantize(x, new long[] {x.length}, QuantType.NF4, 64, true);
        QuantState.DoubleQuant dq = q.state().doubleQuant();
        assertEquals(600, dq.codes().length);
        assertEquals(3, dq.absmax().length);
        assertEquals(256, dq.blocksize());
        float[] absmax = q.state().absmaxF32();
        float[] map = DynamicMap.signed();
        for (int i = 0; i < absmax.length; i++) {
            assertEquals(map[dq.codes()[i] & 0xFF] * dq.absmax()[i / 256] + dq.offset(), absmax[i], 0f);
        }
        float[] plain = Quantized4Bit.quantize(x, new long[] {x.length}, QuantType.NF4, 64, false).state().absmax();
        double mean = 0;
        for (float a : plain) {
            mean += a;
        }
        assertEquals(mean / plain.length, dq.offset(), 1e-6);
        for (int i = 0; i < absmax.length; i++) {
            assertEquals(plain[i], absmax[i], 0.01 * plain[i]);
        }
    }

    @Test
    void everyErrorIsWithinHalfTheWidestCodeGapTimesAbsmax() {
        qt().withFixedSeed(4).withExamples(150)
                .forAll(integers().between(1, 3000), integers().between(5, 12), arbitrary().enumValues(QuantType.class), longs().all())
                .checkAssert((n, log2bs, type, seed) -> {
                    float[] x = scaledGaussian(n, seed);
                    int bs = 1 << log2bs;
                    Quantized4Bit q = Quantized4Bit.quantize(x, new long[] {n}, type, bs, false);
                    float[] back = q.dequantize();
                    double half = type.halfWidestGap();
                    for (int i = 0; i < n; i++) {
                        double a = q.state().absmax()[i / bs];
                        double bound = (half + 1e-6) * a;
                        assertTrue(Math.abs(x[i] - back[i]) <= bound,
                                "element " + i + ": " + x[i] + " -> " + back[i] + ", bound " + bound);
                    }
                });
    }

    @Test
    void segmentInputQuantizesLikeTheArray() {
        float[] x = gaussian(1000, 11);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * x.length);
            MemorySegment.copy(x, 0, seg, ValueLayout.JAVA_FLOAT, 0, x.length);
            assertEquals(Quantized4Bit.quantize(x, new long[] {10, 100}, QuantType.NF4, 64, true),
                    Quantized4Bit.quantize(seg, new long[] {10, 100}, QuantType.NF4, 64, true));
        }
    }

    @Test
    void bf16OutputIsTheF32OutputRoundedToNearestEven() {
        float[] x = gaussian(4097, 5);
        Quantized4Bit q = Quantized4Bit.quantize(x, new long[] {4097}, QuantType.NF4, 64, true);
        float[] f32 = q.dequantize();
        short[] bf16 = q.dequantizeBf16();
        for (int i = 0; i < f32.length; i++) {
            assertEquals(dev.tessera.core.DType.floatToBf16(f32[i]), bf16[i], "element " + i);
        }
    }

    @Test
    void badArgumentsAreRejectedWithTheReason() {
        float[] x = new float[64];
        var e = assertThrows(IllegalArgumentException.class,
                () -> Quantized4Bit.quantize(x, new long[] {64}, QuantType.NF4, 48, false));
        assertTrue(e.getMessage().contains("power of two"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Quantized4Bit.quantize(x, new long[] {64}, QuantType.NF4, 16, false));
        assertThrows(IllegalArgumentException.class, () -> Quantized4Bit.quantize(x, new long[] {64}, QuantType.NF4, 8192, false));
        assertThrows(IllegalArgumentException.class, () -> Quantized4Bit.quantize(x, new long[] {8, 9}, QuantType.NF4, 64, false));
        assertThrows(IllegalArgumentException.class, () -> Quantized4Bit.quantize(new float[0], new long[] {0}, QuantType.NF4, 64, false));
        x[3] = Float.POSITIVE_INFINITY;
        e = assertThrows(IllegalArgumentException.class, () -> Quantized4Bit.quantize(x, new long[] {64}, QuantType.NF4, 64, false));
        assertTrue(e.getMessage().contains("index 3"), e.getMessage());
    }

    record Errors(double abs, double rel) {}

    /** bitsandbytes' test_4bit_quant metrics: mean |x - x'| and mean |x - x'| / (|x| + 1e-8). */
    static Errors errors(QuantType type, int blocksize, boolean doubleQuant) {
        float[] x = gaussian(1024 * 1024, 1234);
        float[] back = Quantized4Bit.quantize(x, new long[] {1024, 1024}, type, blocksize, doubleQuant).dequantize();
        double abs = 0;
        double rel = 0;
        for (int i = 0; i < x.length; i++) {
            double err = Math.abs(x[i] - back[i]);
            abs += err;
            rel += err / (Math.abs(x[i]) + 1e-8);
        }
        return new Errors(abs / x.length, rel / x.length);
    }

    static float[] gaussian(int n, long seed) {
        Random rng = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    /** Gaussian values whose scale varies wildly between draws, with some exact zeros. */
    static float[] scaledGaussian(int n, long seed) {
        Random rng = new Random(seed);
        float scale = (float) Math.exp(rng.nextGaussian() * 8);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextInt(10) == 0 ? 0f : (float) (rng.nextGaussian() * scale);
        }
        return x;
    }
}
