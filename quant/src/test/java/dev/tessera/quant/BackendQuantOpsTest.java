package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend's quantization ops (Backend.dequantize4bit, matmul4bit, quantize8bit,
 * dequantize8bit, adamw8bit) against plain references: quant's array codecs and scalar loops.
 */
class BackendQuantOpsTest {
    private static final Backend CPU = Backends.cpu();
    private static final DType[] ROUNDING = {DType.F32, DType.BF16, DType.F16};

    /** The CPU backend's view of a quantized [rows, cols] weight (the tables Linear4bit makes). */
    static Packed4Bit packed(Quantized4Bit q, int rows, int cols) {
        QuantState s = q.state();
        Tensor bytes = Tensor.fromBytes(DType.U8, new int[] {q.packed().length}, MemorySegment.ofArray(q.packed()));
        Tensor code = Tensor.of(s.code(), 16);
        QuantState.DoubleQuant dq = s.doubleQuant();
        if (dq == null) {
            return Packed4Bit.plain(bytes, code, s.blocksize(), Tensor.of(s.absmax(), s.absmax().length), rows, cols);
        }
        Tensor codes = Tensor.fromBytes(DType.U8, new int[] {dq.codes().length}, MemorySegment.ofArray(dq.codes()));
        return Packed4Bit.doubleQuantized(bytes, code, s.blocksize(), codes, Tensor.of(dq.absmax(), dq.absmax().length),
                Tensor.of(dq.code(), 256), dq.blocksize(), dq.offset(), rows, cols);
    }

    /** code[q] * absmax in F32, rounded to {@code rounding}: the definition of a decoded element. */
    static float[] reference(Quantized4Bit q, DType rounding) {
        float[] absmax = q.state().absmaxF32();
        float[] code = q.state().code();
        int bs = q.state().blocksize();
        float[] out = new float[(int) q.state().numel()];
        for (int e = 0; e < out.length; e++) {
            int b = q.packed()[e / 2] & 0xFF;
            float v = code[e % 2 == 0 ? b >> 4 : b & 15] * absmax[e / bs];
            out[e] = switch (rounding) {
                case BF16 -> DType.bf16ToFloat(DType.floatToBf16(v));
                case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
                default -> v;
            };
        }
        return out;
    }

    @Test
    void dequantize4bitEqualsTheScalarDefinitionBitForBit() {
        qt().withFixedSeed(21).withExamples(60)
                .forAll(integers().between(1, 40), integers().between(1, 300), integers().between(0, 2), longs().all())
                .checkAssert((rows, cols, r, seed) -> {
                    Random rng = new Random(seed);
                    QuantType type = rng.nextBoolean() ? QuantType.NF4 : QuantType.FP4;
                    int bs = 1 << (5 + rng.nextInt(3));
                    Quantized4Bit q = Quantized4Bit.quantize(gaussian(rows * cols, rng), new long[] {rows, cols}, type, bs,
                            rng.nextBoolean());
                    try (var scope = Scope.open()) {
                        Tensor out = Tensor.empty(DType.F32, rows * cols);
                        CPU.dequantize4bit(packed(q, rows, cols), ROUNDING[r], out);
                        assertArrayEquals(reference(q, ROUNDING[r]), out.toFloatArray());
                        Tensor bf16 = Tensor.empty(DType.BF16, rows * cols);
                        CPU.dequantize4bit(packed(q, rows, cols), DType.F32, bf16);
                        assertArrayEquals(reference(q, DType.BF16), bf16.toFloatArray());
                    }
                });
    }

    @Test
    void matmul4bitForwardAndInputGradientEqualProductsWithTheDecodedWeight() {
        qt().withFixedSeed(22).withExamples(40)
                .forAll(integers().between(1, 200), integers().between(1, 200), integers().between(1, 9), longs().all())
                .checkAssert((out, in, m, seed) -> {
                    Random rng = new Random(seed);
                    DType rounding = ROUNDING[rng.nextInt(3)];
                    Quantized4Bit q = Quantized4Bit.quantize(gaussian(out * in, rng), new long[] {out, in}, QuantType.NF4,
                            64, rng.nextBoolean());
                    float[] w = reference(q, rounding);
                    float[] x = gaussian(m * in, rng), dy = gaussian(m * out, rng);
                    try (var scope = Scope.open()) {
                        Tensor y = Tensor.empty(DType.F32, m, out), dx = Tensor.empty(DType.F32, m, in);
                        CPU.matmul4bit(packed(q, out, in), rounding, false, Tensor.of(x, m, in), m, y);
                        CPU.matmul4bit(packed(q, out, in), rounding, true, Tensor.of(dy, m, out), m, dx);
                        float[] yRef = new float[m * out], dxRef = new float[m * in];
                        for (int i = 0; i < m; i++) {
                            for (int o = 0; o < out; o++) {
                                double sy = 0;
                                for (int k = 0; k < in; k++) {
                                    sy += (double) x[i * in + k] * w[o * in + k];
                                }
                                yRef[i * out + o] = (float) sy;
                            }
                            for (int k = 0; k < in; k++) {
                                double sx = 0;
                                for (int o = 0; o < out; o++) {
                                    sx += (double) dy[i * out + o] * w[o * in + k];
                                }
                                dxRef[i * in + k] = (float) sx;
                            }
                        }
                        assertClose(yRef, y.toFloatArray(), in);
                        assertClose(dxRef, dx.toFloatArray(), out);
                    }
                });
    }

    @Test
    void quantize8bitAndDequantize8bitEqualTheArrayCodec() {
        qt().withFixedSeed(23).withExamples(60)
                .forAll(integers().between(1, 3000), integers().between(0, 4), longs().all())
                .checkAssert((n, log2, seed) -> {
                    Random rng = new Random(seed);
                    int bs = 64 << log2;
                    float[] map = rng.nextBoolean() ? DynamicMap.signed() : DynamicMap.unsigned();
                    float[] x = gaussian(n, rng);
                    for (int i = 0; i < n; i += 1 + rng.nextInt(50)) {
                        x[i] = rng.nextInt(3) == 0 ? 0f : x[i] * 1e4f;
                    }
                    byte[] codes = new byte[n];
                    float[] absmax = new float[Blockwise8Bit.blocks(n, bs)];
                    Blockwise8Bit.quantize(x, map, bs, codes, absmax);
                    float[] back = new float[n];
                    Blockwise8Bit.dequantize(codes, absmax, map, bs, back);
                    try (var scope = Scope.open()) {
                        Tensor c = Tensor.empty(DType.U8, n), a = Tensor.empty(DType.F32, absmax.length);
                        Tensor mapT = Tensor.of(map, 256);
                        CPU.quantize8bit(Tensor.of(x, n), mapT, bs, c, a);
                        assertArrayEquals(codes, c.dataSegment().toArray(ValueLayout.JAVA_BYTE));
                        assertArrayEquals(absmax, a.toFloatArray());
                        Tensor out = Tensor.empty(DType.F32, n);
                        CPU.dequantize8bit(c, a, mapT, bs, out);
                        assertArrayEquals(back, out.toFloatArray());
                    }
                });
    }

    @Test
    void quantize8bitReportsANonFiniteValue() {
        try (var scope = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1f, Float.NaN, 2f}, 3);
            TesseraException e = assertThrows(TesseraException.class, () -> CPU.quantize8bit(x,
                    Tensor.of(DynamicMap.signed(), 256), 256, Tensor.empty(DType.U8, 3), Tensor.empty(DType.F32, 1)));
            assertTrue(e.getMessage().contains("non-finite value NaN at index 1"), e.getMessage());
        }
    }

    @Test
    void adamw8bitEqualsDecodeAdamWEncodeWithTheArrayCodec() {
        qt().withFixedSeed(24).withExamples(25)
                .forAll(integers().between(1, 5000), integers().between(1, 6), longs().all())
                .checkAssert((n, steps, seed) -> {
                    Random rng = new Random(seed);
                    float[] signed = DynamicMap.signed(), unsigned = DynamicMap.unsigned();
                    int bs = 256, blocks = Blockwise8Bit.blocks(n, bs);
                    double lr = 1e-3 * (1 + rng.nextInt(20)), wd = rng.nextBoolean() ? 0 : 0.01;
                    float[] p = gaussian(n, rng);
                    byte[] mc = new byte[n], vc = new byte[n];
                    float[] ma = new float[blocks], va = new float[blocks];
                    try (var scope = Scope.open()) {
                        Tensor pt = Tensor.of(p.clone(), n), mct = Tensor.zeros(DType.U8, Device.CPU, n), vct = Tensor.zeros(DType.U8, Device.CPU, n);
                        Tensor mat = Tensor.zeros(DType.F32, Device.CPU, blocks), vat = Tensor.zeros(DType.F32, Device.CPU, blocks);
                        Tensor sMap = Tensor.of(signed, 256), uMap = Tensor.of(unsigned, 256);
                        for (int t = 1; t <= steps; t++) {
                            float[] g = gaussian(n, rng);
                            CPU.adamw8bit(pt, Tensor.of(g, n), mct, mat, vct, vat, sMap, uMap, bs, lr, 0.9, 0.999, 1e-8, wd, t);
                            float[] m = new float[n], v = new float[n];
                            Blockwise8Bit.dequantize(mc, ma, signed, bs, m);
                            Blockwise8Bit.dequantize(vc, va, unsigned, bs, v);
                            float decay = (float) (1 - lr * wd), w1 = (float) (1 - 0.9), w2 = (float) (1 - 0.999);
                            float step = (float) -(lr / (1 - Math.pow(0.9, t)));
                            float bc2 = (float) Math.sqrt(1 - Math.pow(0.999, t));
                            for (int i = 0; i < n; i++) {
                                m[i] = m[i] + w1 * (g[i] - m[i]);
                                v[i] = v[i] * 0.999f + w2 * g[i] * g[i];
                                float denom = (float) Math.sqrt(v[i]) / bc2 + 1e-8f;
                                p[i] = p[i] * decay + step * m[i] / denom;
                            }
                            Blockwise8Bit.quantize(m, signed, bs, mc, ma);
                            Blockwise8Bit.quantize(v, unsigned, bs, vc, va);
                        }
                        assertArrayEquals(p, pt.toFloatArray());
                        assertArrayEquals(mc, mct.dataSegment().toArray(ValueLayout.JAVA_BYTE));
                        assertArrayEquals(vc, vct.dataSegment().toArray(ValueLayout.JAVA_BYTE));
                        assertArrayEquals(ma, mat.toFloatArray());
                        assertArrayEquals(va, vat.toFloatArray());
                    }
                });
    }

    private static float[] gaussian(int n, Random rng) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    private static void assertClose(float[] expected, float[] actual, int k) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            // F32 sums of k products of N(0,1)-sized terms against a double-precision sum
            assertTrue(Math.abs(e - a) <= 1e-5 * Math.max(1, Math.sqrt(k)) * Math.max(1, Math.abs(e)),
                    "element " + i + ": " + a + " vs " + e);
        }
    }
}
