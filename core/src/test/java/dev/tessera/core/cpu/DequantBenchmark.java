package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

/**
 * Single-thread 4-bit dequantization throughput against {@link MemorySegment#copy} of a buffer
 * the size of the output, in the same run. Throughput counts bytes written (F32: 4 per element,
 * BF16: 2); a copy of B bytes reads B and writes B, the dequantizer reads 0.5625 bytes per
 * element (packed nibbles + one float absmax per 64) and writes 4 or 2.
 *
 * It reads core's package-private kernels, so it lives with core's tests (not in the library
 * jar); {@code DequantBenchmarkTest} runs it on a small tensor, and on the test class path:
 *
 * <pre>
 * mvn -pl core test-compile
 * java --add-modules jdk.incubator.vector -cp core/target/classes:core/target/test-classes dev.tessera.core.cpu.DequantBenchmark [elements] [reps]
 * </pre>
 */
final class DequantBenchmark {
    private DequantBenchmark() {}

    static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1 << 24;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        int blocksize = 64;
        Random rng = new Random(42);
        // bitsandbytes' NF4 table; random codes decode as fast as real ones
        float[] code = {-1.0f, -0.6961928f, -0.52507305f, -0.3949175f, -0.28444138f, -0.18477343f, -0.091050036f, 0f,
            0.0795803f, 0.1609302f, 0.2461123f, 0.33791524f, 0.44070983f, 0.562617f, 0.72295684f, 1.0f};
        int blocks = (n + blocksize - 1) / blocksize;
        byte[] codes = new byte[(n + 1) / 2];
        rng.nextBytes(codes);
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            absmax[b] = (float) Math.exp(rng.nextGaussian());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment packed = arena.allocate(codes.length, 64);
            MemorySegment.copy(MemorySegment.ofArray(codes), 0, packed, 0, codes.length);
            MemorySegment f32 = arena.allocate(4L * n, 64);
            MemorySegment bf16 = arena.allocate(2L * n, 64);
            MemorySegment copySrc = arena.allocate(4L * n, 64);
            MemorySegment copyDst = arena.allocate(4L * n, 64);
            copySrc.fill((byte) 1);
            copyDst.fill((byte) 0);
            f32.fill((byte) 0);
            bf16.fill((byte) 0);

            System.out.printf("4-bit dequant, %d elements (NF4, blocksize %d), 1 thread, %s, best of %d%n",
                    n, blocksize, Dequant4Vector.SUPPORTED ? Dequant4Vector.INTS + "" : "no usable vector species", reps);
            double copyF32 = seconds(reps, () -> MemorySegment.copy(copySrc, 0, copyDst, 0, 4L * n));
            double copyBf16 = seconds(reps, () -> MemorySegment.copy(copySrc, 0, copyDst, 0, 2L * n));
            double vecF32 = seconds(reps, () -> Dequant4Vector.toF32(packed, absmax, code, blocksize, n, 0, blocks, f32));
            check(f32, packed, absmax, code, blocksize, n);
            double vecBf16 = seconds(reps, () -> Dequant4Vector.toBf16(packed, absmax, code, blocksize, n, 0, blocks, bf16));
            // Linear4bit's tile decoder over the same codes, its absmax rebuilt from double quantization per block.
            byte[] scaleCodes = new byte[blocks];
            rng.nextBytes(scaleCodes);
            float[] map = new float[256];
            for (int i = 0; i < 256; i++) {
                map[i] = -1f + 2f * i / 255f;
            }
            BlockScales dq = BlockScales.of(scaleCodes, new float[(blocks + 255) / 256], map, 256, 1f);
            double rangeF32 = seconds(reps, () -> Dequant4Vector.rangeToF32(packed, dq, code, blocksize, DType.F32, 0, n, f32, 0));
            double scalarF32 = seconds(Math.max(3, reps / 5),
                    () -> Dequant4Scalar.toF32(packed, absmax, code, blocksize, 0, n, f32));

            report("MemorySegment.copy, F32-sized", 4.0 * n, copyF32, copyF32);
            report("dequant -> F32 (Vector API)", 4.0 * n, vecF32, copyF32);
            report("dequant -> F32 (tile kernel, DQ)", 4.0 * n, rangeF32, copyF32);
            report("dequant -> F32 (scalar)", 4.0 * n, scalarF32, copyF32);
            report("MemorySegment.copy, BF16-sized", 2.0 * n, copyBf16, copyBf16);
            report("dequant -> BF16 (Vector API)", 2.0 * n, vecBf16, copyBf16);
        }
    }

    private static double seconds(int reps, Runnable body) {
        for (int i = 0; i < 3; i++) {
            body.run();
        }
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long start = System.nanoTime();
            body.run();
            t[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(t);
        return t[0];
    }

    private static void report(String what, double bytesWritten, double seconds, double copySeconds) {
        System.out.printf("  %-32s %8.2f ms  %7.2f GB/s written  %5.2fx the copy's GB/s%n",
                what, seconds * 1e3, bytesWritten / seconds / 1e9, copySeconds / seconds);
    }

    /** Guards against a kernel that is fast because it is wrong. */
    private static void check(MemorySegment f32, MemorySegment packed, float[] absmax, float[] code, int blocksize, int n) {
        for (int i = 0; i < n; i += 997) {
            float got = f32.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            float expected = Dequant4Scalar.value(packed, absmax, code, blocksize, i);
            if (Float.compare(got, expected) != 0) {
                throw new IllegalStateException("dequantized element " + i + " is " + got + ", expected " + expected);
            }
        }
    }
}
