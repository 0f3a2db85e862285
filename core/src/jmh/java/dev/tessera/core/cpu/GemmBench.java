package dev.tessera.core.cpu;

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
 * The whole packed GEMM ({@link Gemm#sgemm}) on the GPT-2 124M training shapes at 256 tokens, in
 * each orientation a training step uses, on all worker threads. GFLOP/s = 2·m·n·k / time; the
 * shape string is "m,n,k,transA,transB".
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class GemmBench extends KernelBenchmark {
    @Param({"1024,1024,1024,false,false", // square
            "256,2304,768,false,false",   // c_attn forward X·W
            "256,768,2304,false,true",    // c_attn input gradient dY·Wᵀ
            "768,2304,256,true,false",    // c_attn weight gradient Xᵀ·dY
            "256,3072,768,false,false"})  // mlp.c_fc forward
    public String shape;

    private int m, n, k;
    private boolean transA, transB;
    private Arena arena;
    private MemorySegment a, b, c;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split(",");
        m = Integer.parseInt(p[0]);
        n = Integer.parseInt(p[1]);
        k = Integer.parseInt(p[2]);
        transA = Boolean.parseBoolean(p[3]);
        transB = Boolean.parseBoolean(p[4]);
        arena = Arena.ofShared();
        a = random(arena, (long) m * k, 1);
        b = random(arena, (long) k * n, 2);
        c = arena.allocate((long) m * n * Float.BYTES, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment sgemm() {
        Gemm.sgemm(transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, 0f, c, 0, n);
        return c;
    }

    static MemorySegment random(Arena arena, long count, long seed) {
        MemorySegment s = arena.allocate(count * Float.BYTES, 64);
        SplittableRandom rng = new SplittableRandom(seed);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (rng.nextDouble() * 2 - 1));
        }
        return s;
    }
}
