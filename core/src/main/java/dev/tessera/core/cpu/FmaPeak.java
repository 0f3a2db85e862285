package dev.tessera.core.cpu;

import java.util.concurrent.atomic.DoubleAdder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's measured single-precision FMA throughput: every worker thread runs twelve
 * independent chains of vector FMAs at the GEMM's vector width (enough chains to cover the FMA
 * latency on two FMA ports), with no memory traffic. This is the ceiling a GEMM can approach, so
 * benchmarks report their share of it rather than a number that means nothing across machines.
 */
public final class FmaPeak {
    private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
    private static final int CHAINS = 12;
    private static volatile double cached = Double.NaN;
    private static volatile double consumed;

    private FmaPeak() {}

    /** GFLOP/s (an FMA counts 2) on all worker threads; measured once (about half a second), then cached. */
    public static double gflops() {
        double g = cached;
        if (Double.isNaN(g)) {
            synchronized (FmaPeak.class) {
                if (Double.isNaN(cached)) {
                    cached = measure();
                }
                g = cached;
            }
        }
        return g;
    }

    private static double measure() {
        int threads = Parallel.threads();
        long iterations = 1 << 20;
        // Warm-up: C2 compiles chains() after a few calls; the best of the timed rounds counts.
        for (int i = 0; i < 20; i++) {
            chains(1 << 14);
        }
        double best = 0;
        for (int round = 0; round < 5; round++) {
            DoubleAdder sink = new DoubleAdder();
            long t0 = System.nanoTime();
            Parallel.forRange(threads, 1, (from, to) -> {
                for (long t = from; t < to; t++) {
                    sink.add(chains(iterations));
                }
            });
            double seconds = (System.nanoTime() - t0) * 1e-9;
            consumed = sink.sum(); // published, so the JIT cannot drop the chains as dead code
            best = Math.max(best, 2.0 * CHAINS * S.length() * iterations * threads / seconds / 1e9);
        }
        return best;
    }

    /** CHAINS independent accumulators, {@code n} FMAs each; returns a value derived from all of them. */
    static float chains(long n) {
        FloatVector x = FloatVector.broadcast(S, 0.999999f), y = FloatVector.broadcast(S, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(S, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++) {
            a0 = a0.fma(x, y); a1 = a1.fma(x, y); a2 = a2.fma(x, y); a3 = a3.fma(x, y);
            a4 = a4.fma(x, y); a5 = a5.fma(x, y); a6 = a6.fma(x, y); a7 = a7.fma(x, y);
            a8 = a8.fma(x, y); a9 = a9.fma(x, y); a10 = a10.fma(x, y); a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
