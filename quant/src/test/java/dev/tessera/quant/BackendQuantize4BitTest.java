package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend's 4-bit quantize (Backend.quantize4bit) against quant's reference quantizer,
 * {@link Quantized4Bit#quantize}: the same codes, block scales and double-quantization state,
 * byte for byte, for NF4 and FP4 with and without double quantization.
 */
class BackendQuantize4BitTest {
    /** Normal values with the cases a nearest-code search can get wrong: zeros, ties at midpoints, ±0, tiny values. */
    private static float[] values(int n, QuantType type, Random rng) {
        float[] code = type.code();
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (rng.nextInt(8)) {
                case 0 -> 0f;
                case 1 -> -0f;
                case 2 -> (code[rng.nextInt(15)] + code[rng.nextInt(15) + 1]) / 2;   // often a midpoint of a block whose absmax is 1
                case 3 -> (float) (rng.nextGaussian() * 1e-30);
                case 4 -> 1f;
                default -> (float) rng.nextGaussian();
            };
        }
        return x;
    }

    @Test
    void theCpuBackendWritesTheReferenceBytes() {
        qt().withFixedSeed(41).withExamples(80)
                .forAll(integers().between(1, 2000), integers().between(0, 3), longs().all())
                .checkAssert((n, kind, seed) -> {
                    Random rng = new Random(seed);
                    QuantType type = kind % 2 == 0 ? QuantType.NF4 : QuantType.FP4;
                    boolean doubleQuant = kind >= 2;
                    int blocksize = 1 << (5 + rng.nextInt(4));
                    float[] x = values(n, type, rng);
                    Quantized4Bit expected = Quantized4Bit.quantize(x, new long[] {n}, type, blocksize, doubleQuant);
                    try (var scope = Scope.open()) {
                        Quantized4Bit actual = BackendQuantize4Bit.quantize(Tensor.of(x, n), new long[] {n}, type, blocksize,
                                doubleQuant).toHost();
                        assertArrayEquals(expected.packed(), actual.packed(), "codes");
                        assertEquals(expected.state(), actual.state(), "state");
                    }
                });
    }

    @Test
    void aBlockOfZerosTakesTheZeroCodeAndAbsmaxZero() {
        try (var scope = Scope.open()) {
            Tensor x = Tensor.zeros(65);
            for (QuantType type : QuantType.values()) {
                Tensor packed = Tensor.zeros(DType.U8, Device.CPU, 33), absmax = Tensor.of(new float[] {7f, 7f}, 2);
                Backends.cpu().quantize4bit(x, Tensor.of(type.code(), 16), type == QuantType.FP4, 64, packed, absmax, null);
                int zero = type.zeroIndex();
                for (byte b : packed.to(Device.CPU).dataSegment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)) {
                    assertEquals((byte) (zero << 4 | zero), b, type.toString());
                }
                assertArrayEquals(new float[] {0f, 0f}, absmax.toFloatArray());
            }
        }
    }

    @Test
    void aNonFiniteValueIsAnErrorNamingIt() {
        try (var scope = Scope.open()) {
            float[] x = new float[100];
            x[70] = Float.POSITIVE_INFINITY;
            TesseraException e = assertThrows(TesseraException.class, () -> BackendQuantize4Bit.quantize(Tensor.of(x, 100),
                    new long[] {100}, QuantType.NF4, 64, false));
            assertEquals("4-bit quantize: non-finite value Infinity at index 70", e.getMessage());
        }
    }
}
