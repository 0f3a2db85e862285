package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Dequant4KernelTest {
    private static final float[] SPECIAL_ABSMAX = {0f, -0f, Float.MIN_VALUE, 1e-30f, 3e38f,
        Float.POSITIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7FFFFFFF), 65504f, 1f};

    @Test
    void vectorKernelEqualsScalarReferenceBitForBit() {
        qt().withFixedSeed(16).withExamples(200)
                .forAll(integers().between(1, 5000), integers().between(5, 12), booleans().all(), longs().all())
                .checkAssert((n, log2bs, nf4, seed) -> {
                    Random rng = new Random(seed);
                    int bs = 1 << log2bs;
                    int blocks = (n + bs - 1) / bs;
                    byte[] packed = new byte[(n + 1) / 2];
                    rng.nextBytes(packed);
                    float[] absmax = new float[blocks];
                    for (int b = 0; b < blocks; b++) {
                        absmax[b] = rng.nextInt(8) == 0
                                ? SPECIAL_ABSMAX[rng.nextInt(SPECIAL_ABSMAX.length)]
                                : (float) Math.exp(rng.nextGaussian() * 10);
                    }
                    float[] code = nf4 ? Quant4Fixtures.NF4 : Quant4Fixtures.FP4;
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment in = arena.allocate(packed.length);
                        MemorySegment.copy(MemorySegment.ofArray(packed), 0, in, 0, packed.length);
                        MemorySegment vf = arena.allocate(4L * n);
                        MemorySegment sf = arena.allocate(4L * n);
                        MemorySegment vb = arena.allocate(2L * n);
                        MemorySegment sb = arena.allocate(2L * n);
                        Dequant4Vector.toF32(in, absmax, code, bs, n, 0, blocks, vf);
                        Dequant4Scalar.toF32(in, absmax, code, bs, 0, n, sf);
                        Dequant4Vector.toBf16(in, absmax, code, bs, n, 0, blocks, vb);
                        Dequant4Scalar.toBf16(in, absmax, code, bs, 0, n, sb);
                        assertEquals(-1L, vf.mismatch(sf), "F32 differs at byte " + vf.mismatch(sf));
                        assertEquals(-1L, vb.mismatch(sb), "BF16 differs at byte " + vb.mismatch(sb));
                    }
                });
    }

    @Test
    void aBlockRangeWritesOnlyItsElements() {
        int n = 1000;
        int bs = 64;
        byte[] packed = new byte[n / 2];
        new Random(3).nextBytes(packed);
        float[] absmax = new float[(n + bs - 1) / bs];
        Arrays.fill(absmax, 2f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(4L * n);
            out.fill((byte) 0x55);
            Dequant4Vector.toF32(MemorySegment.ofArray(packed), absmax, Quant4Fixtures.NF4, bs, n, 3, 5, out);
            MemorySegment in = MemorySegment.ofArray(packed);
            for (long e = 0; e < n; e++) {
                int got = Float.floatToRawIntBits(out.getAtIndex(Dequant4Scalar.F32, e));
                int expected = e >= 3 * bs && e < 5 * bs
                        ? Float.floatToRawIntBits(Dequant4Scalar.value(in, absmax, Quant4Fixtures.NF4, bs, e))
                        : 0x55555555;
                assertEquals(expected, got, "element " + e);
            }
        }
    }
}
