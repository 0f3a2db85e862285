package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Blockwise4BitTest {
    @Test
    void vectorBlocksEqualTheScalarLoopByteForByte() {
        qt().withFixedSeed(21).withExamples(200)
                .forAll(integers().between(1, 5000), integers().between(5, 9), integers().between(0, 1), longs().all())
                .checkAssert((n, log2bs, t, seed) -> {
                    QuantType type = QuantType.values()[t];
                    int bs = 1 << log2bs;
                    float[] x = values(n, new Random(seed));
                    int blocks = (n + bs - 1) / bs;
                    byte[] packed = new byte[(n + 1) / 2];
                    float[] absmax = new float[blocks];
                    Blockwise4Bit.quantize(MemorySegment.ofArray(x), n, type, bs, 0, blocks, packed, absmax);
                    byte[] packedRef = new byte[(n + 1) / 2];
                    float[] absmaxRef = new float[blocks];
                    for (int b = 0; b < blocks; b++) {
                        Blockwise4Bit.scalarBlock(MemorySegment.ofArray(x), (long) b * bs, Math.min(n, (long) (b + 1) * bs),
                                type, b, packedRef, absmaxRef);
                    }
                    assertArrayEquals(absmaxRef, absmax);
                    assertArrayEquals(packedRef, packed);
                });
    }

    @Test
    void everyValueOnAndBesideEachNf4MidpointGetsTheScalarCode() {
        // a block whose absmax is 1 holds each exact midpoint and its float neighbours
        float[] code = QuantType.NF4.code();
        float[] x = new float[64 * 3];
        int i = 0;
        for (int k = 0; k + 1 < code.length && i + 3 <= x.length; k++) {
            float mid = (float) (((double) code[k] + code[k + 1]) / 2);
            x[i++] = Math.nextDown(mid);
            x[i++] = mid;
            x[i++] = Math.nextUp(mid);
        }
        x[x.length - 1] = 1f;
        x[63] = -1f;
        x[127] = 1f;
        byte[] packed = new byte[x.length / 2];
        float[] absmax = new float[3];
        Blockwise4Bit.quantize(MemorySegment.ofArray(x), x.length, QuantType.NF4, 64, 0, 3, packed, absmax);
        for (int e = 0; e < x.length; e++) {
            int q = (e & 1) == 0 ? (packed[e / 2] >> 4) & 15 : packed[e / 2] & 15;
            assertEquals(QuantType.NF4.nearest(x[e] / absmax[e / 64]), q, "element " + e + " = " + x[e]);
        }
    }

    /** N(0, 1) values with all-zero blocks, exact zeros, signed zeros, and now and then a non-finite value. */
    private static float[] values(int n, Random rng) {
        float[] x = new float[n];
        int zeroFrom = rng.nextInt(n), zeroTo = Math.min(n, zeroFrom + rng.nextInt(300));
        for (int i = 0; i < n; i++) {
            x[i] = i >= zeroFrom && i < zeroTo ? (rng.nextBoolean() ? 0f : -0f) : (float) rng.nextGaussian();
        }
        return x;
    }
}
