package dev.tessera.core.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * NF4 dequantization of 4M elements (blocksize 64) to F32 and BF16 on one thread, against a plain
 * copy of the F32 output's size: the dequantizer reads 0.5625 bytes per element and writes 4 (or
 * 2), so it should run near the copy's speed.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class DequantBench extends KernelBenchmark {
    private static final int N = 1 << 22, BLOCKSIZE = 64, BLOCKS = N / BLOCKSIZE;
    /** bitsandbytes' NF4 table. */
    private static final float[] NF4 = {-1.0f, -0.6961928f, -0.52507305f, -0.3949175f, -0.28444138f,
        -0.18477343f, -0.091050036f, 0f, 0.0795803f, 0.1609302f, 0.2461123f, 0.33791524f, 0.44070983f,
        0.562617f, 0.72295684f, 1.0f};
    private Arena arena;
    private MemorySegment packed, f32, bf16, copySource;
    private final float[] absmax = new float[BLOCKS];

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        SplittableRandom rng = new SplittableRandom(5);
        packed = arena.allocate(N / 2, 64);
        for (long i = 0; i < N / 2; i++) {
            packed.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) rng.nextInt(256));
        }
        for (int i = 0; i < BLOCKS; i++) {
            absmax[i] = (float) Math.exp(rng.nextGaussian());
        }
        f32 = arena.allocate(4L * N, 64);
        bf16 = arena.allocate(2L * N, 64);
        copySource = arena.allocate(4L * N, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public MemorySegment nf4ToF32() {
        Dequant4Vector.toF32(packed, absmax, NF4, BLOCKSIZE, N, 0, BLOCKS, f32);
        return f32;
    }

    @Benchmark
    public MemorySegment nf4ToBf16() {
        Dequant4Vector.toBf16(packed, absmax, NF4, BLOCKSIZE, N, 0, BLOCKS, bf16);
        return bf16;
    }

    @Benchmark
    public MemorySegment copyF32Size() {
        MemorySegment.copy(copySource, 0, f32, 0, 4L * N);
        return f32;
    }
}
