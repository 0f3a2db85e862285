package dev.tessera.core.cpu;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The register-tiled micro-kernels alone, on packed panels that fit in L1/L2 (one thread): the
 * ceiling of the GEMM. One call is MR·NR·KC FMAs; GFLOP/s = 2·MR·NR·KC / time. Compare with
 * {@code bench gemm}'s {@code peak_gflops} divided by the thread count.
 */
@State(Scope.Thread)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MicroKernelBench extends KernelBenchmark {
    private static final int KC = Gemm.KC;
    private final float[] a = new float[Gemm.MR * KC];
    private final float[] b = new float[Gemm.NR * KC];
    private final float[] tile = new float[Gemm.MR * Gemm.NR];

    @Setup
    public void setUp() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rng.nextDouble();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rng.nextDouble();
        }
    }

    /** A full MR x NR tile (the common case). */
    @Benchmark
    public float[] fullTile() {
        GemmKernel.kernel(a, 0, b, 0, KC, tile, Gemm.MR, Gemm.NR);
        return tile;
    }

    /** An edge tile of 4 rows and one vector of columns. */
    @Benchmark
    public float[] edgeTile() {
        GemmKernel.kernel(a, 0, b, 0, KC, tile, 4, Gemm.LANES);
        return tile;
    }
}
