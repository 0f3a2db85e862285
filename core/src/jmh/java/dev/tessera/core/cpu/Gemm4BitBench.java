package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The 4-bit products (NF4, blocksize 64, double-quantized scales) against the F32 GEMM of the same
 * shape, at 128 rows of activations and Llama-2-7B's projections: forward {@code x · Wᵀ} and input
 * gradient {@code dy · W}. The 4-bit ones should run near the F32 ones.
 * <pre>scripts/jmh.sh Gemm4BitBench -p shape=11008,4096</pre>
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class Gemm4BitBench extends KernelBenchmark {
    private static final int M = 128;
    /** out,in of W. */
    @Param({"4096,4096", "11008,4096", "4096,11008"})
    public String shape;
    private int out, in;
    private Arena arena;
    private Matmul4Bit.Weight weight;
    private MemorySegment w, x, dy, y, dx;

    @Setup(Level.Trial)
    public void setUp() {
        String[] s = shape.split(",");
        out = Integer.parseInt(s[0]);
        in = Integer.parseInt(s[1]);
        arena = Arena.ofShared();
        SplittableRandom rng = new SplittableRandom(3);
        long n = (long) out * in;
        MemorySegment packed = arena.allocate(n / 2, 64);
        for (long i = 0; i < n / 2; i++) {
            packed.set(ValueLayout.JAVA_BYTE, i, (byte) rng.nextInt(256));
        }
        byte[] codes = new byte[(int) (n / 64)];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) rng.nextInt(256);
        }
        float[] map = new float[256];
        for (int i = 0; i < 256; i++) {
            map[i] = -1f + 2f * i / 255f;
        }
        float[] nested = new float[(codes.length + 255) / 256];
        java.util.Arrays.fill(nested, 0.05f);
        float[] nf4 = {-1.0f, -0.6961928f, -0.52507305f, -0.3949175f, -0.28444138f, -0.18477343f, -0.091050036f, 0f,
            0.0795803f, 0.1609302f, 0.2461123f, 0.33791524f, 0.44070983f, 0.562617f, 0.72295684f, 1.0f};
        weight = new Matmul4Bit.Weight(packed, BlockScales.of(codes, nested, map, 256, 0.1f), nf4, 64, out, in, DType.F32);
        w = arena.allocate(4 * n, 64);
        Matmul4Bit.dequantize(weight, w);
        x = random(arena, (long) M * in, rng);
        dy = random(arena, (long) M * out, rng);
        y = arena.allocate(4L * M * out, 64);
        dx = arena.allocate(4L * M * in, 64);
    }

    private static MemorySegment random(Arena arena, long n, SplittableRandom rng) {
        MemorySegment s = arena.allocate(4 * n, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rng.nextGaussian());
        }
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment forward4bit() {
        Matmul4Bit.forward(weight, x, M, y);
        return y;
    }

    @Benchmark
    public MemorySegment forwardF32() {
        Gemm.sgemm(false, true, M, out, in, x, 0, in, w, 0, in, 0f, y, 0, out);
        return y;
    }

    @Benchmark
    public MemorySegment inputGradient4bit() {
        Matmul4Bit.backward(weight, dy, M, dx);
        return dx;
    }

    @Benchmark
    public MemorySegment inputGradientF32() {
        Gemm.sgemm(false, false, M, in, out, dy, 0, out, w, 0, in, 0f, dx, 0, in);
        return dx;
    }
}
