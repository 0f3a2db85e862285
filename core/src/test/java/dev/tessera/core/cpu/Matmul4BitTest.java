package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.tessera.core.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Matmul4BitTest {
    private static final DType[] COMPUTE = {DType.F32, DType.BF16, DType.F16};

    @Test
    void rangeDecodeVectorEqualsScalarBitForBit() {
        qt().withFixedSeed(9).withExamples(300)
                .forAll(integers().between(1, 3000), integers().between(5, 9), integers().between(0, 2), longs().all())
                .checkAssert((n, log2bs, c, seed) -> {
                    Random rng = new Random(seed);
                    int bs = 1 << log2bs;
                    float[] code = Quant4Fixtures.code(rng);
                    byte[] bytes = Quant4Fixtures.packed(n, rng);
                    BlockScales scales = Quant4Fixtures.scales((n + bs - 1) / bs, rng.nextBoolean(), rng);
                    long from = rng.nextInt(n);
                    long to = from + rng.nextInt((int) (n - from) + 1);
                    long outIndex = rng.nextInt(5);
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment packed = segmentOf(arena, bytes);
                        MemorySegment v = arena.allocate(4 * (to - from + outIndex + 3));
                        MemorySegment s = arena.allocate(v.byteSize());
                        Dequant4Vector.rangeToF32(packed, scales, code, bs, COMPUTE[c], from, to, v, outIndex);
                        Dequant4Scalar.rangeToF32(packed, scales, code, bs, COMPUTE[c], from, to, s, outIndex);
                        assertEquals(-1L, v.mismatch(s), "differs at byte " + v.mismatch(s));
                    }
                });
    }

    @Test
    void panelDecodeEqualsRowByRowScalarDecode() {
        qt().withFixedSeed(11).withExamples(100)
                .forAll(integers().between(1, 90), integers().between(1, 200), integers().between(0, 2), longs().all())
                .checkAssert((rows, cols, c, seed) -> {
                    Random rng = new Random(seed);
                    float[] code = Quant4Fixtures.NF4;
                    byte[] bytes = Quant4Fixtures.packed((long) rows * cols, rng);
                    BlockScales scales = Quant4Fixtures.scales(((long) rows * cols + 31) / 32, rng.nextBoolean(), rng);
                    int c0 = rng.nextInt(cols);
                    int width = 1 + rng.nextInt(cols - c0);
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment packed = segmentOf(arena, bytes);
                        MemorySegment v = arena.allocate(4L * rows * width);
                        MemorySegment s = arena.allocate(4L * rows * width);
                        Dequant4Vector.rowsToF32(packed, scales, code, 32, COMPUTE[c], c0, cols, rows, width,
                                v, 0, width);
                        for (int r = 0; r < rows; r++) {
                            long from = (long) r * cols + c0;
                            Dequant4Scalar.rangeToF32(packed, scales, code, 32, COMPUTE[c], from, from + width,
                                    s, (long) r * width);
                        }
                        assertEquals(-1L, v.mismatch(s), "differs at byte " + v.mismatch(s));
                    }
                });
    }

    @Test
    void registerDecodedDotProductsMatchTheScalarSum() {
        qt().withFixedSeed(12).withExamples(200)
                .forAll(integers().between(1, 3000), integers().between(0, 1), longs().all())
                .checkAssert((n, c, seed) -> {
                    Random rng = new Random(seed);
                    float[] code = Quant4Fixtures.NF4;
                    byte[] bytes = Quant4Fixtures.packed(n, rng);
                    BlockScales scales = Quant4Fixtures.scales((n + 63) / 64, rng.nextBoolean(), rng);
                    long from = rng.nextInt(n);
                    long to = from + rng.nextInt((int) (n - from) + 1);
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment packed = segmentOf(arena, bytes);
                        MemorySegment x = segment(arena, Quant4Fixtures.gaussian((int) (to - from), seed + 1));
                        float v = Dequant4Vector.rangeDot(packed, scales, code, 64, COMPUTE[c], from, to, x, 0);
                        float s = Dequant4Scalar.rangeDot(packed, scales, code, 64, COMPUTE[c], from, to, x, 0);
                        assertEquals(s, v, 1e-5 * Math.max(1, Math.sqrt(to - from)), "range [" + from + ", " + to + ")");
                    }
                });
    }

    @Test
    void tiledProductsEqualTheNaiveProductsOnTheDequantizedWeight() {
        qt().withFixedSeed(10).withExamples(30)
                .forAll(integers().between(1, 400), integers().between(1, 400), integers().between(1, 17), longs().all())
                .checkAssert((out, in, m, seed) -> {
                    Random rng = new Random(seed);
                    float[] code = Quant4Fixtures.code(rng);
                    long n = (long) out * in;
                    byte[] bytes = Quant4Fixtures.packed(n, rng);
                    BlockScales scales = Quant4Fixtures.scales((n + 63) / 64, seed % 3 == 0, rng);
                    float[] w = new float[(int) n];
                    Dequant4Scalar.rangeToF32(MemorySegment.ofArray(bytes), scales, code, 64, DType.F32, 0, n,
                            MemorySegment.ofArray(w), 0);
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment packed = segmentOf(arena, bytes);
                        Matmul4Bit.Weight weight = new Matmul4Bit.Weight(packed, scales, code, 64, out, in, DType.F32);
                        MemorySegment x = segment(arena, Quant4Fixtures.gaussian(m * in, seed + 1));
                        MemorySegment dy = segment(arena, Quant4Fixtures.gaussian(m * out, seed + 2));
                        MemorySegment wSeg = segment(arena, w);

                        MemorySegment y = arena.allocate(4L * m * out);
                        MemorySegment yRef = arena.allocate(4L * m * out);
                        Matmul4Bit.forward(weight, x, m, y);
                        ReferenceGemm.sgemm(false, true, m, out, in, x, 0, in, wSeg, 0, in, 0f, yRef, 0, out);
                        assertClose(yRef, y, in);

                        MemorySegment dx = arena.allocate(4L * m * in);
                        MemorySegment dxRef = arena.allocate(4L * m * in);
                        Matmul4Bit.backward(weight, dy, m, dx);
                        ReferenceGemm.sgemm(false, false, m, in, out, dy, 0, out, wSeg, 0, in, 0f, dxRef, 0, in);
                        assertClose(dxRef, dx, out);

                        MemorySegment whole = arena.allocate(4L * out * in);
                        Matmul4Bit.dequantize(weight, whole);
                        assertEquals(-1L, whole.mismatch(wSeg));
                    }
                });
    }

    @Test
    void packedProductsEqualGemmOnTheDequantizedWeightBitForBit() {
        // k beyond Gemm.KC (several k blocks), widths that leave partial panels, in % 64 != 0
        qt().withFixedSeed(13).withExamples(40)
                .forAll(integers().between(2, 1700), integers().between(1, 300), integers().between(2, 40), longs().all())
                .checkAssert((in, out, m, seed) -> {
                    Random rng = new Random(seed);
                    int width = seed % 2 == 0 ? in : (in + 63) / 64 * 64;
                    long n = (long) out * width;
                    float[] code = Quant4Fixtures.code(rng);
                    byte[] bytes = Quant4Fixtures.packed(n, rng);
                    BlockScales scales = Quant4Fixtures.scales((n + 63) / 64, rng.nextBoolean(), rng);
                    float[] w = new float[(int) n];
                    Dequant4Scalar.rangeToF32(MemorySegment.ofArray(bytes), scales, code, 64, DType.F32, 0, n,
                            MemorySegment.ofArray(w), 0);
                    try (Arena arena = Arena.ofShared()) {
                        Matmul4Bit.Weight weight = new Matmul4Bit.Weight(segmentOf(arena, bytes), scales, code, 64, out,
                                width, DType.F32);
                        MemorySegment wSeg = segment(arena, w);
                        MemorySegment x = segment(arena, Quant4Fixtures.gaussian(m * width, seed + 1));
                        MemorySegment y = arena.allocate(4L * m * out);
                        MemorySegment yRef = arena.allocate(4L * m * out);
                        Matmul4Bit.forward(weight, x, m, y);
                        Gemm.sgemm(false, true, m, out, width, x, 0, width, wSeg, 0, width, 0f, yRef, 0, out);
                        assertEquals(-1L, y.mismatch(yRef), "forward differs at byte " + y.mismatch(yRef));

                        MemorySegment dy = segment(arena, Quant4Fixtures.gaussian(m * out, seed + 2));
                        MemorySegment dx = arena.allocate(4L * m * width);
                        MemorySegment dxRef = arena.allocate(4L * m * width);
                        Matmul4Bit.backward(weight, dy, m, dx);
                        Gemm.sgemm(false, false, m, width, out, dy, 0, out, wSeg, 0, width, 0f, dxRef, 0, width);
                        assertEquals(-1L, dx.mismatch(dxRef), "backward differs at byte " + dx.mismatch(dxRef));
                    }
                });
    }

    @Test
    void blockedResultsDoNotDependOnTheThreadCount() {
        int out = 300, in = 200, m = 33;
        Random rng = new Random(1);
        byte[] bytes = Quant4Fixtures.packed((long) out * in, rng);
        BlockScales scales = Quant4Fixtures.scales(((long) out * in + 63) / 64, true, rng);
        int threads = Parallel.threads();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment packed = segmentOf(arena, bytes);
            Matmul4Bit.Weight weight = new Matmul4Bit.Weight(packed, scales, Quant4Fixtures.NF4, 64, out, in,
                    DType.F32);
            MemorySegment x = segment(arena, Quant4Fixtures.gaussian(m * in, 2));
            MemorySegment many = arena.allocate(4L * m * out);
            MemorySegment one = arena.allocate(4L * m * out);
            Parallel.setThreads(Math.max(3, threads));
            Matmul4Bit.forward(weight, x, m, many);
            Parallel.setThreads(1);
            Matmul4Bit.forward(weight, x, m, one);
            assertEquals(-1L, many.mismatch(one));
        } finally {
            Parallel.setThreads(threads);
        }
    }

    @Test
    void tilesAreAlignedAndCoverTheDimension() {
        for (int size : new int[] {1, 7, 31, 32, 33, 768, 3072, 50257}) {
            for (int other : new int[] {1, 64, 768, 3072, 100_000}) {
                int t = Matmul4Bit.tileSize(size, other);
                assertTrue(t >= 1 && t <= size, size + " x " + other + " -> " + t);
                assertTrue(t == size || t % 32 == 0 || t < 32, size + " x " + other + " -> " + t);
            }
        }
    }

    private static void assertClose(MemorySegment expected, MemorySegment actual, int k) {
        long n = expected.byteSize() / 4;
        for (long i = 0; i < n; i++) {
            float e = expected.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            float a = actual.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            // F32 sums of k products of N(0,1)-sized terms, in different orders
            assertTrue(Math.abs(e - a) <= 1e-5 * Math.max(1, Math.sqrt(k)) * Math.max(1, Math.abs(e)),
                    "element " + i + ": " + a + " vs " + e);
        }
    }

    private static MemorySegment segment(Arena arena, float[] values) {
        MemorySegment s = arena.allocate(4L * values.length, 64);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
        return s;
    }

    private static MemorySegment segmentOf(Arena arena, byte[] bytes) {
        MemorySegment s = arena.allocate(bytes.length);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, s, 0, bytes.length);
        return s;
    }
}
