package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.core.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import jdk.incubator.vector.VectorShape;
import org.junit.jupiter.api.Test;

/**
 * The 4-bit dequantizers against {@link Dequant4Scalar} at sizes around the vector step (2L
 * elements) with odd starts, block tails and several rows. Surefire runs this class at the
 * machine's width and again at 128 bits (the scalar fallback), 256 (8 int lanes, two table
 * halves) and 512 (16 lanes, one table), see quant/pom.xml.
 */
class Dequant4AtEveryWidthTest {
    private static final int L = Dequant4Vector.INTS.length();

    @Test
    void theDequantizersUseTheWidthTheSystemPropertyAsksFor() {
        String bits = System.getProperty(VectorWidth.PROPERTY, "");
        VectorShape expected = bits.isBlank() ? VectorShape.preferredShape() : VectorShape.forBitSize(Integer.parseInt(bits));
        assertEquals(expected.vectorBitSize() / 32, L);
        assertEquals(L == 8 || L == 16, Dequant4Vector.SUPPORTED);
    }

    @Test
    void wholeBlocksDecodeBitForBitAsTheScalarReference() {
        for (float[] code : new float[][] {Quant4Fixtures.NF4, Quant4Fixtures.FP4}) {
            // 2L elements is one vector step; a block of 16 is shorter than a step at 16 lanes.
            for (int blocksize : new int[] {16, 32, 64}) {
                for (int n : new int[] {1, 2 * L - 1, 2 * L, 2 * L + 1, 3 * blocksize + 7}) {
                    // Raw codes and scales: the kernel also takes blocks shorter than quantize allows.
                    int blocks = (n + blocksize - 1) / blocksize;
                    java.util.Random random = new java.util.Random(n * 131L + blocksize);
                    byte[] bytes = new byte[(n + 1) / 2];
                    random.nextBytes(bytes);
                    float[] absmax = new float[blocks];
                    for (int b = 0; b < blocks; b++) {
                        absmax[b] = (float) Math.exp(random.nextGaussian() * 4);
                    }
                    MemorySegment packed = MemorySegment.ofArray(bytes);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment vf = arena.allocate(4L * n), sf = arena.allocate(4L * n);
                        MemorySegment vb = arena.allocate(2L * n), sb = arena.allocate(2L * n);
                        Dequant4Vector.toF32(packed, absmax, code, blocksize, n, 0, blocks, vf);
                        Dequant4Scalar.toF32(packed, absmax, code, blocksize, 0, n, sf);
                        Dequant4Vector.toBf16(packed, absmax, code, blocksize, n, 0, blocks, vb);
                        Dequant4Scalar.toBf16(packed, absmax, code, blocksize, 0, n, sb);
                        String what = (code == Quant4Fixtures.NF4 ? "NF4" : "FP4") + " blocksize " + blocksize + " n " + n;
                        assertEquals(-1L, vf.mismatch(sf), what + ": F32 differs at byte " + vf.mismatch(sf));
                        assertEquals(-1L, vb.mismatch(sb), what + ": BF16 differs at byte " + vb.mismatch(sb));
                    }
                }
            }
        }
    }

    @Test
    void panelsOfRowsDecodeBitForBitAsTheScalarReferenceInEveryComputeDtype() {
        int in = 5 * L + 3, out = 3, blocksize = 64;
        for (boolean doubleQuant : new boolean[] {false, true}) {
            Random rng = new Random(in * 31L + (doubleQuant ? 1 : 0));
            long n = (long) in * out;
            BlockScales scales = Quant4Fixtures.scales((n + blocksize - 1) / blocksize, doubleQuant, rng);
            MemorySegment packed = MemorySegment.ofArray(Quant4Fixtures.packed(n, rng));
            float[] code = Quant4Fixtures.NF4;
            for (DType compute : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                // Columns [c0, c0 + width) of every row: odd and even starts, widths around a step.
                for (int c0 : new int[] {0, 1, L + 1}) {
                    for (int width : new int[] {1, 2 * L, 2 * L + 1, in - c0}) {
                        if (c0 + width > in) {
                            continue;
                        }
                        try (Arena arena = Arena.ofConfined()) {
                            long size = 4L * (2 + out * (width + 1));
                            MemorySegment v = arena.allocate(size), s = arena.allocate(size);
                            Dequant4Vector.rowsToF32(packed, scales, code, blocksize, compute, c0, in, out, width, v, 2,
                                    width + 1);
                            for (int r = 0; r < out; r++) {
                                Dequant4Scalar.rangeToF32(packed, scales, code, blocksize, compute, r * in + c0,
                                        r * in + c0 + width, s, 2 + r * (width + 1));
                            }
                            assertEquals(-1L, v.mismatch(s), compute + " doubleQuant " + doubleQuant + " c0 " + c0
                                    + " width " + width + ": differs at byte " + v.mismatch(s));
                        }
                    }
                }
            }
        }
    }

    @Test
    void rangeDotsMatchTheScalarReference() {
        int n = 6 * L + 5, blocksize = 64;
        Random rng = new Random(n);
        BlockScales scales = Quant4Fixtures.scales((n + blocksize - 1) / blocksize, true, rng);
        MemorySegment packed = MemorySegment.ofArray(Quant4Fixtures.packed(n, rng));
        float[] code = Quant4Fixtures.FP4;
        float[] xs = Quant4Fixtures.gaussian(n + 1, 5);
        MemorySegment x = MemorySegment.ofArray(xs);
        for (DType compute : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int from : new int[] {0, 1, 3}) {
                for (int to : new int[] {from + 1, from + 2 * L, from + 2 * L + 1, n}) {
                    float expected = Dequant4Scalar.rangeDot(packed, scales, code, blocksize, compute, from, to, x, 1);
                    float got = Dequant4Vector.rangeDot(packed, scales, code, blocksize, compute, from, to, x, 1);
                    // Lane sums add in another order than the scalar loop.
                    assertEquals(expected, got, 1e-5f * (to - from), compute + " [" + from + ", " + to + ")");
                }
            }
        }
    }

    @Test
    void fourBitProductsEqualGemmOnTheDequantizedWeightBitForBit() {
        java.util.Random rng = new java.util.Random(77);
        for (int[] shape : new int[][] {{70, 128, 13}, {33, 200, 5}, {2 * L + 3, 64 * 3, 2}}) {
            int out = shape[0], in = shape[1], m = shape[2];
            long n = (long) out * in;
            byte[] bytes = Quant4Fixtures.packed(n, rng);
            BlockScales scales = Quant4Fixtures.scales((n + 63) / 64, true, rng);
            float[] w = new float[(int) n];
            Dequant4Scalar.rangeToF32(java.lang.foreign.MemorySegment.ofArray(bytes), scales, Quant4Fixtures.NF4, 64,
                    dev.tessera.core.DType.F32, 0, n, java.lang.foreign.MemorySegment.ofArray(w), 0);
            float[] x = Quant4Fixtures.gaussian(m * in, 3);
            float[] dy = Quant4Fixtures.gaussian(m * out, 4);
            Matmul4Bit.Weight weight = new Matmul4Bit.Weight(java.lang.foreign.MemorySegment.ofArray(bytes), scales,
                    Quant4Fixtures.NF4, 64, out, in, dev.tessera.core.DType.F32);
            float[] y = new float[m * out], yRef = new float[m * out], dx = new float[m * in], dxRef = new float[m * in];
            Matmul4Bit.forward(weight, seg(x), m, seg(y));
            Gemm.sgemm(false, true, m, out, in, seg(x), 0, in, seg(w), 0, in, 0f, seg(yRef), 0, out);
            org.junit.jupiter.api.Assertions.assertArrayEquals(yRef, y, "forward " + java.util.Arrays.toString(shape));
            Matmul4Bit.backward(weight, seg(dy), m, seg(dx));
            Gemm.sgemm(false, false, m, in, out, seg(dy), 0, out, seg(w), 0, in, 0f, seg(dxRef), 0, in);
            org.junit.jupiter.api.Assertions.assertArrayEquals(dxRef, dx, "backward " + java.util.Arrays.toString(shape));
        }
    }

    private static java.lang.foreign.MemorySegment seg(float[] a) {
        return java.lang.foreign.MemorySegment.ofArray(a);
    }
}
