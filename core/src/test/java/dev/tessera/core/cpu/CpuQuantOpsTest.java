package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend's quantized-weight and 8-bit state ops (4-bit dequantize and product, blockwise
 * 8-bit quantize and dequantize, 8-bit AdamW), each against a plain loop written here from
 * {@code Backend}'s contract. Element counts leave a tail block, and views start at an offset
 * into their storage where the op accepts them.
 */
class CpuQuantOpsTest {
    private static final Backend CPU = Backends.cpu();

    // ------------------------------------------------------------------ 4-bit weights

    /** A 4-bit weight with its parts as arrays, for the reference decode. */
    record Weight4(Packed4Bit w, byte[] packed, float[] code, float[] absmax, byte[] absmaxCodes, float[] nested,
                   float[] nestedCode, int nestedBlocksize, float offset) {

        int nibble(long e) {
            int b = packed[(int) (e >>> 1)] & 0xFF;
            return e % 2 == 0 ? b >>> 4 : b & 15;
        }

        float scale(long block) {
            if (absmax != null) {
                return absmax[(int) block];
            }
            // the spec's order, in F32: map[code] * nested + offset
            return nestedCode[absmaxCodes[(int) block] & 0xFF] * nested[(int) (block / nestedBlocksize)] + offset;
        }

        float value(long e) {
            return code[nibble(e)] * scale(e / w.blocksize());
        }
    }

    private static Tensor u8(byte[] bytes) {
        return Tensor.fromBytes(DType.U8, new int[] {bytes.length}, MemorySegment.ofArray(bytes));
    }

    static Weight4 weight(int rows, int cols, int bs, boolean nf4, int nestedBlocksize, long seed) {
        Random rng = new Random(seed);
        int n = rows * cols, blocks = (n + bs - 1) / bs;
        float[] code = nf4 ? Quant4Fixtures.NF4 : Quant4Fixtures.FP4;
        byte[] packed = Quant4Fixtures.packed(n, rng);
        if (nestedBlocksize == 0) {
            float[] absmax = Quant4Fixtures.absmax(blocks, rng);
            Packed4Bit w = Packed4Bit.plain(u8(packed), Tensor.of(code, 16), bs, Tensor.of(absmax, blocks), rows, cols);
            return new Weight4(w, packed, code, absmax, null, null, null, 1, 0f);
        }
        byte[] codes = new byte[blocks];
        rng.nextBytes(codes);
        float[] map = new float[256];
        for (int i = 0; i < 256; i++) {
            map[i] = (float) Math.sin(i * 0.37); // any 256 entries: the decode only looks them up
        }
        int groups = (blocks + nestedBlocksize - 1) / nestedBlocksize;
        float[] nested = Quant4Fixtures.absmax(groups, rng);
        float offset = 1.25f;
        Packed4Bit w = Packed4Bit.doubleQuantized(u8(packed), Tensor.of(code, 16), bs, u8(codes),
                Tensor.of(nested, groups), Tensor.of(map, 256), nestedBlocksize, offset, rows, cols);
        return new Weight4(w, packed, code, null, codes, nested, map, nestedBlocksize, offset);
    }

    private static float round(float v, DType rounding) {
        return switch (rounding) {
            case BF16 -> DType.bf16ToFloat(DType.floatToBf16(v));
            case F16 -> DType.f16ToFloat(DType.floatToF16(v));
            default -> v;
        };
    }

    @Test
    void dequantize4bitDecodesEveryElementForEachRoundingAndOutput() {
        // plain scales; double-quantized with nested blocks of 4 (a shift) and of 3 (a division)
        for (int nested : new int[] {0, 4, 3}) {
            for (boolean nf4 : new boolean[] {true, false}) {
                Weight4 w = weight(5, 27, 16, nf4, nested, nested * 2L + (nf4 ? 1 : 0));
                int n = 5 * 27;
                for (DType rounding : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                    Tensor out = Tensor.zeros(DType.F32, Device.CPU, 5, 27);
                    CPU.dequantize4bit(w.w(), rounding, out);
                    float[] got = out.toFloatArray();
                    for (int e = 0; e < n; e++) {
                        assertEquals(round(w.value(e), rounding), got[e], "nested " + nested + " " + rounding + " element " + e);
                    }
                }
                Tensor bf16 = Tensor.zeros(DType.BF16, Device.CPU, n);
                CPU.dequantize4bit(w.w(), DType.F32, bf16);
                float[] got = bf16.toFloatArray();
                for (int e = 0; e < n; e++) {
                    assertEquals(round(w.value(e), DType.BF16), got[e], "BF16 output, nested " + nested + " element " + e);
                }
            }
        }
    }

    @Test
    void dequantize4bitRefusesOutputsThatDoNotFit() {
        Packed4Bit w = weight(3, 9, 8, true, 0, 5).w();
        assertThrows(TesseraException.class, () -> CPU.dequantize4bit(w, DType.F32, Tensor.zeros(26)));
        assertThrows(TesseraException.class, () -> CPU.dequantize4bit(w, DType.F32, Tensor.zeros(9, 3).t()));
        assertThrows(TesseraException.class, () -> CPU.dequantize4bit(w, DType.F32, Tensor.zeros(DType.F16, Device.CPU, 27)));
        assertThrows(TesseraException.class, () -> CPU.dequantize4bit(w, DType.F32, Tensor.zeros(DType.I64, Device.CPU, 27)));
        TesseraException e = assertThrows(TesseraException.class,
                () -> CPU.dequantize4bit(w, DType.BF16, Tensor.zeros(DType.BF16, Device.CPU, 27)));
        assertTrue(e.getMessage().contains("takes F32 rounding"), e.getMessage());
    }

    /** y[i, r] = sum over c of x[i, c] * W[r, c] (forward) or y[i, c] = sum over r of x[i, r] * W[r, c], in double. */
    private static double[] product(Weight4 w, DType rounding, boolean inputGradient, float[] x, int m) {
        int rows = w.w().rows(), cols = w.w().cols();
        int k = inputGradient ? rows : cols, out = inputGradient ? cols : rows;
        double[] y = new double[m * out];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < out; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) {
                    long e = inputGradient ? (long) t * cols + j : (long) j * cols + t;
                    s += (double) x[i * k + t] * round(w.value(e), rounding);
                }
                y[i * out + j] = s;
            }
        }
        return y;
    }

    @Test
    void matmul4bitMultipliesByTheDecodedWeightBothWays() {
        int rows = 6, cols = 21;
        for (int m : new int[] {1, 3}) {
            for (DType rounding : new DType[] {DType.F32, DType.BF16}) {
                Weight4 w = weight(rows, cols, 8, m == 1, rounding == DType.F32 ? 0 : 4, m * 10L + rounding.ordinal());
                for (boolean inputGradient : new boolean[] {false, true}) {
                    int k = inputGradient ? rows : cols, out = inputGradient ? cols : rows;
                    float[] x = Quant4Fixtures.gaussian(m * k, m + k);
                    Tensor y = Tensor.zeros(m, out);
                    CPU.matmul4bit(w.w(), rounding, inputGradient, Tensor.of(x, m, k), m, y);
                    double[] expected = product(w, rounding, inputGradient, x, m);
                    float[] got = y.toFloatArray();
                    for (int i = 0; i < expected.length; i++) {
                        assertEquals(expected[i], got[i], 1e-4 * (1 + Math.abs(expected[i])),
                                "m " + m + " " + rounding + (inputGradient ? " input gradient " : " forward ") + i);
                    }
                }
            }
        }
    }

    @Test
    void matmul4bitRefusesOperandsOfTheWrongSizeOrDtype() {
        Packed4Bit w = weight(4, 10, 8, true, 0, 9).w();
        Tensor x = Tensor.zeros(3, 10), y = Tensor.zeros(3, 4);
        CPU.matmul4bit(w, DType.F32, false, x, 3, y); // fits
        CPU.matmul4bit(w, DType.F32, true, y, 3, x);  // fits the other way
        Tensor[][] bad = {
            {Tensor.zeros(3, 9), y}, {x, Tensor.zeros(3, 5)}, {x.cast(DType.BF16), y}, {x, y.cast(DType.BF16)},
            {y, x}, // the input-gradient shapes, in a forward product
        };
        for (Tensor[] b : bad) {
            TesseraException e = assertThrows(TesseraException.class, () -> CPU.matmul4bit(w, DType.F32, false, b[0], 3, b[1]));
            assertTrue(e.getMessage().contains("x must be F32 [3, 10] and y F32 [3, 4]"), e.getMessage());
        }
        assertThrows(TesseraException.class, () -> CPU.matmul4bit(w, DType.F32, true, x, 3, y));
    }

    @Test
    void doubleQuantizedBlockScalesAreMapTimesNestedPlusOffset() {
        Random rng = new Random(8);
        byte[] codes = new byte[23];
        rng.nextBytes(codes);
        float[] map = new float[256], nested = new float[23];
        for (int g = 0; g < nested.length; g++) {
            nested[g] = 0.25f + g * 0.5f;
        }
        for (int i = 0; i < 256; i++) {
            map[i] = i / 255f - 0.5f;
        }
        for (int nestedBlocksize : new int[] {1, 3, 4}) {
            BlockScales s = BlockScales.of(codes, nested, map, nestedBlocksize, 0.125f);
            float[] all = s.toArray(codes.length);
            assertEquals(codes.length, all.length);
            for (int b = 0; b < codes.length; b++) {
                float expected = map[codes[b] & 0xFF] * nested[b / nestedBlocksize] + 0.125f;
                assertEquals(expected, s.get(b), "nested blocks of " + nestedBlocksize + ", block " + b);
                assertEquals(expected, all[b]);
            }
        }
        float[] plain = {1f, 2f, 3f};
        assertArrayEquals(plain, BlockScales.of(plain).toArray(3));
    }

    // ------------------------------------------------------------------ blockwise 8-bit

    /** 256 ascending entries in [-1, 1] with repeats and with 0 at index 100 (not at 0, where NaN would land). */
    static float[] signedMap() {
        float[] map = new float[256];
        for (int i = 0; i < 256; i++) {
            map[i] = i < 100 ? -1f + i / 100f : (i - 100) / 155f;
        }
        map[201] = map[200]; // a repeat: the lowest index wins
        map[255] = 1f;
        return map;
    }

    /** 256 ascending entries in [0, 1]. */
    static float[] unsignedMap() {
        float[] map = new float[256];
        for (int i = 0; i < 256; i++) {
            map[i] = (float) Math.pow(i / 255.0, 2);
        }
        return map;
    }

    /**
     * The entry at the least exact distance to q, the lowest index on a tie: distances in double
     * pick the candidates, exact decimal arithmetic decides between near-equal ones.
     */
    static int nearest8(float[] map, float q) {
        double[] d = new double[map.length];
        double min = Double.POSITIVE_INFINITY;
        for (int i = 0; i < map.length; i++) {
            d[i] = Math.abs((double) q - map[i]);
            min = Math.min(min, d[i]);
        }
        BigDecimal target = new BigDecimal(q);
        int best = -1;
        BigDecimal bestDistance = null;
        for (int i = 0; i < map.length; i++) {
            if (d[i] <= min * (1 + 1e-9) + Double.MIN_NORMAL) {
                BigDecimal exact = target.subtract(new BigDecimal(map[i])).abs();
                if (best < 0 || exact.compareTo(bestDistance) < 0) {
                    best = i;
                    bestDistance = exact;
                }
            }
        }
        return best;
    }

    /** Blockwise 8-bit codes of x: codes into {@code codes}, scales into {@code absmax}. */
    static void quantize8(float[] x, float[] map, int bs, int[] codes, float[] absmax) {
        for (int b = 0; b * bs < x.length; b++) {
            int start = b * bs, end = Math.min(x.length, start + bs);
            float max = 0f;
            for (int i = start; i < end; i++) {
                max = Math.max(max, Math.abs(x[i]));
            }
            absmax[b] = max;
            for (int i = start; i < end; i++) {
                codes[i] = nearest8(map, max == 0f ? 0f : x[i] / max);
            }
        }
    }

    /** A view of {@code n} elements starting 3 elements into a larger buffer of {@code dtype}. */
    private static Tensor offsetView(DType dtype, int n) {
        return Tensor.zeros(dtype, Device.CPU, n + 5).narrow(0, 3, n);
    }

    private static float[] values(int n, long seed) {
        float[] x = Quant4Fixtures.gaussian(n, seed);
        for (int i = 64; i < Math.min(n, 128); i++) {
            x[i] = 0f; // block 1 of 64 is all zeros
        }
        return x;
    }

    @Test
    void quantize8bitAndDequantize8bitMatchThePlainLoops() {
        float[] map = signedMap();
        for (int bs : new int[] {64, 1}) {
            int n = 301;
            float[] x = values(n, bs);
            int blocks = (n + bs - 1) / bs;
            int[] codes = new int[n];
            float[] absmax = new float[blocks];
            quantize8(x, map, bs, codes, absmax);
            Tensor xs = offsetView(DType.F32, n).copyFrom(Tensor.of(x, n));
            Tensor cs = offsetView(DType.U8, n), as = offsetView(DType.F32, blocks);
            CPU.quantize8bit(xs, Tensor.of(map, 256), bs, cs, as);
            long[] gotCodes = cs.toLongArray();
            for (int i = 0; i < n; i++) {
                assertEquals(codes[i], gotCodes[i], "blocksize " + bs + " code " + i + " of " + x[i]);
            }
            assertArrayEquals(absmax, as.toFloatArray(), "blocksize " + bs);

            Tensor out = offsetView(DType.F32, n);
            CPU.dequantize8bit(cs, as, Tensor.of(map, 256), bs, out);
            float[] back = out.toFloatArray();
            for (int i = 0; i < n; i++) {
                assertEquals(map[codes[i]] * absmax[i / bs], back[i], "blocksize " + bs + " element " + i);
            }
        }
    }

    @Test
    void dequantize8bitReadsCodesAsUnsignedBytes() {
        float[] map = signedMap();
        byte[] codes = {(byte) 255, (byte) 200, 0, 100, (byte) 128};
        Tensor out = Tensor.zeros(5);
        CPU.dequantize8bit(u8(codes), Tensor.of(new float[] {2f, 4f}, 2), Tensor.of(map, 256), 3, out);
        assertArrayEquals(new float[] {map[255] * 2f, map[200] * 2f, map[0] * 2f, map[100] * 4f, map[128] * 4f},
                out.toFloatArray());
    }

    @Test
    void eightBitOpsRefuseBadBlocksizesTensorsAndValues() {
        int n = 10;
        Tensor x = Tensor.of(values(n, 1), n), map = Tensor.of(signedMap(), 256);
        Tensor codes = Tensor.zeros(DType.U8, Device.CPU, n), absmax = Tensor.zeros(4);
        CPU.quantize8bit(x, map, 3, codes, absmax); // fits: ceil(10 / 3) = 4 blocks
        for (int bs : new int[] {0, -1}) {
            TesseraException e = assertThrows(TesseraException.class, () -> CPU.quantize8bit(x, map, bs, codes, absmax));
            assertTrue(e.getMessage().contains("blocksize must be positive, got " + bs), e.getMessage());
        }
        Tensor[][] bad = {
            {Tensor.zeros(DType.U8, Device.CPU, 9), absmax, map},
            {Tensor.zeros(DType.I64, Device.CPU, n), absmax, map},
            {codes, Tensor.zeros(3), map},
            {codes, Tensor.zeros(5), map},
            {codes, absmax.cast(DType.BF16), map},
            {codes, absmax, Tensor.zeros(255)},
            {codes, absmax, map.cast(DType.BF16)},
        };
        for (Tensor[] b : bad) {
            TesseraException e = assertThrows(TesseraException.class, () -> CPU.quantize8bit(x, b[2], 3, b[0], b[1]));
            assertTrue(e.getMessage().contains("U8 codes [10], F32 absmax [4]"), e.getMessage());
            assertThrows(TesseraException.class, () -> CPU.dequantize8bit(b[0], b[1], b[2], 3, Tensor.zeros(n)));
        }
        for (float v : new float[] {Float.NaN, Float.NEGATIVE_INFINITY}) {
            Tensor withBad = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, v, 9, 10}, n);
            TesseraException e = assertThrows(TesseraException.class, () -> CPU.quantize8bit(withBad, map, 3, codes, absmax));
            assertTrue(e.getMessage().contains("non-finite value " + v + " at index 7"), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ AdamW on views

    @Test
    void adamwUpdatesViewsThatStartInsideTheirStorage() {
        // a large eps, so that its sign and size show in every element (vector lanes and the scalar tail)
        int n = 37;
        double lr = 0.05, beta1 = 0.8, beta2 = 0.9, eps = 0.5, wd = 0.2;
        float[] p0 = Quant4Fixtures.gaussian(n, 21), m0 = Quant4Fixtures.gaussian(n, 22), v0 = Quant4Fixtures.gaussian(n, 23);
        for (int i = 0; i < n; i++) {
            v0[i] = v0[i] * v0[i];
        }
        float[] g = Quant4Fixtures.gaussian(n, 24);
        Tensor p = offsetView(DType.F32, n).copyFrom(Tensor.of(p0, n));
        Tensor m = offsetView(DType.F32, n).copyFrom(Tensor.of(m0, n));
        Tensor v = offsetView(DType.F32, n).copyFrom(Tensor.of(v0, n));
        Tensor grad = offsetView(DType.F32, n).copyFrom(Tensor.of(g, n));
        long step = 2;
        CPU.adamw(p, grad, m, v, lr, beta1, beta2, eps, wd, step);
        float[] gotP = p.toFloatArray(), gotM = m.toFloatArray(), gotV = v.toFloatArray();
        for (int i = 0; i < n; i++) {
            // PyTorch's AdamW in double
            double mm = beta1 * m0[i] + (1 - beta1) * g[i];
            double vv = beta2 * v0[i] + (1 - beta2) * g[i] * g[i];
            double denom = Math.sqrt(vv) / Math.sqrt(1 - Math.pow(beta2, step)) + eps;
            double pp = p0[i] * (1 - lr * wd) - lr / (1 - Math.pow(beta1, step)) * mm / denom;
            assertEquals(mm, gotM[i], 1e-6 * (1 + Math.abs(mm)), "m " + i);
            assertEquals(vv, gotV[i], 1e-6 * (1 + vv), "v " + i);
            assertEquals(pp, gotP[i], 1e-6 * (1 + Math.abs(pp)), "param " + i);
        }
    }

    // ------------------------------------------------------------------ 8-bit AdamW

    @Test
    void adamw8bitIsDecodeThenTheF32AdamwStepThenEncode() {
        // the contract: per block, m and v decoded, updated exactly as adamw updates F32 state, re-encoded
        // as quantize8bit encodes; the reference composes the plain decode, Backend.adamw and the plain encode
        int n = 101, bs = 32, blocks = (n + bs - 1) / bs; // three whole blocks and a tail of 5
        double lr = 1e-2, beta1 = 0.9, beta2 = 0.98, eps = 1e-6, wd = 0.1;
        float[] signed = signedMap(), unsigned = unsignedMap();
        Random rng = new Random(4);
        float[] param = Quant4Fixtures.gaussian(n, 5);
        int[] mCodes = new int[n], vCodes = new int[n];
        float[] mAbsmax = new float[blocks], vAbsmax = new float[blocks];
        for (int i = 0; i < n; i++) {
            mCodes[i] = rng.nextInt(256);
            vCodes[i] = rng.nextInt(256);
        }
        for (int b = 0; b < blocks; b++) {
            mAbsmax[b] = 0.1f + rng.nextFloat();
            vAbsmax[b] = 0.01f + rng.nextFloat() * 0.1f;
        }
        // the backend's state, in views that start inside their storage
        Tensor p = offsetView(DType.F32, n).copyFrom(Tensor.of(param, n));
        Tensor mc = offsetView(DType.U8, n).copyFrom(Tensor.of(toFloats(mCodes), n));
        Tensor vc = offsetView(DType.U8, n).copyFrom(Tensor.of(toFloats(vCodes), n));
        Tensor ma = offsetView(DType.F32, blocks).copyFrom(Tensor.of(mAbsmax, blocks));
        Tensor va = offsetView(DType.F32, blocks).copyFrom(Tensor.of(vAbsmax, blocks));
        Tensor signedMap = Tensor.of(signed, 256), unsignedMap = Tensor.of(unsigned, 256);
        for (long step = 1; step <= 3; step++) {
            float[] g = Quant4Fixtures.gaussian(n, 100 + step);
            Tensor grad = offsetView(DType.F32, n).copyFrom(Tensor.of(g, n));
            CPU.adamw8bit(p, grad, mc, ma, vc, va, signedMap, unsignedMap, bs, lr, beta1, beta2, eps, wd, step);

            float[] m = new float[n], v = new float[n];
            for (int i = 0; i < n; i++) {
                m[i] = signed[mCodes[i]] * mAbsmax[i / bs];
                v[i] = unsigned[vCodes[i]] * vAbsmax[i / bs];
            }
            Tensor rp = Tensor.of(param, n), rm = Tensor.of(m, n), rv = Tensor.of(v, n);
            CPU.adamw(rp, Tensor.of(g, n), rm, rv, lr, beta1, beta2, eps, wd, step);
            param = rp.toFloatArray();
            quantize8(rm.toFloatArray(), signed, bs, mCodes, mAbsmax);
            quantize8(rv.toFloatArray(), unsigned, bs, vCodes, vAbsmax);

            assertArrayEquals(param, p.toFloatArray(), "param after step " + step);
            assertArrayEquals(mAbsmax, ma.toFloatArray(), "m absmax after step " + step);
            assertArrayEquals(vAbsmax, va.toFloatArray(), "v absmax after step " + step);
            assertArrayEquals(toLongs(mCodes), mc.toLongArray(), "m codes after step " + step);
            assertArrayEquals(toLongs(vCodes), vc.toLongArray(), "v codes after step " + step);
        }
        // the update moved the parameters: the comparison above is not of two untouched copies
        assertTrue(!Arrays.equals(param, Quant4Fixtures.gaussian(n, 5)));
    }

    @Test
    void adamw8bitRefusesStateOfTheWrongSize() {
        int n = 10;
        Tensor p = Tensor.zeros(n), g = Tensor.zeros(n), codes = Tensor.zeros(DType.U8, Device.CPU, n);
        Tensor absmax = Tensor.zeros(2), map = Tensor.of(signedMap(), 256);
        CPU.adamw8bit(p, g, codes, absmax, codes.copy(), absmax.copy(), map, Tensor.of(unsignedMap(), 256), 5,
                1e-3, 0.9, 0.99, 1e-8, 0, 1);
        assertThrows(TesseraException.class, () -> CPU.adamw8bit(p, g, codes, Tensor.zeros(3), codes.copy(), absmax,
                map, map, 5, 1e-3, 0.9, 0.99, 1e-8, 0, 1));
        assertThrows(TesseraException.class, () -> CPU.adamw8bit(p, g, codes, absmax, codes, Tensor.zeros(3),
                map, map, 5, 1e-3, 0.9, 0.99, 1e-8, 0, 1));
        assertThrows(TesseraException.class, () -> CPU.adamw8bit(p, g, codes, absmax, codes.copy(), absmax.copy(),
                map, map, 0, 1e-3, 0.9, 0.99, 1e-8, 0, 1));
    }

    private static float[] toFloats(int[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = a[i];
        }
        return f;
    }

    private static long[] toLongs(int[] a) {
        return Arrays.stream(a).asLongStream().toArray();
    }
}
