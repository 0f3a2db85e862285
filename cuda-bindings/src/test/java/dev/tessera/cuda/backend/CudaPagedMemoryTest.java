package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.PagedMemory;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Paged memory on CUDA (fast tier in device memory, slow tier in pinned host memory, pages moved
 * on a copy stream ordered by events) against the CPU's tiers: the same random sequence of kernel
 * updates, prefetches and evictions gives the same bits. On the emulated device a stream runs only
 * when something waits for it, so a missing event wait (a kernel reading a slot before its page
 * arrived, or a write-back before the kernel that wrote the slot) gives stale bytes here.
 */
class CudaPagedMemoryTest {
    private static final Device CUDA = Device.cuda(0);

    @TempDir
    Path dir;

    /** Runs the sequence of {@code seed} on {@code device}; returns every page's floats in order. */
    private static float[][] run(Device device, Path dir, long seed, int slots, int pageCount, int floats) {
        Random random = new Random(seed);
        Backend backend = Backends.of(device);
        try (var pages = new PagedMemory(device, floats * 4L, (long) slots * floats * 4, dir); var scope = Scope.open()) {
            int first = pages.allocatePages(pageCount);
            for (int op = 0; op < 200; op++) {
                int page = random.nextInt(pageCount);
                if (random.nextInt(3) == 0) {
                    pages.prefetch(first + page);
                    continue;
                }
                float scale = 1 + random.nextFloat(), shift = random.nextFloat() - 0.5f;
                Tensor t = pages.acquire(first + page, DType.F32, floats);
                backend.unary(Backend.UnaryOp.MUL_SCALAR, t, t, scale, 0);
                backend.unary(Backend.UnaryOp.ADD_SCALAR, t, t, shift, 0);
                if (random.nextInt(8) == 0) {
                    pages.allocatePages(1);   // the slow tier grows (a new pinned block) between moves
                    pageCount++;
                }
            }
            assertTrue(pages.pagesOut() > 20, "pages written back: " + pages.pagesOut());
            float[][] out = new float[pages.pages()][];
            for (int p = 0; p < out.length; p++) {
                out[p] = pages.acquire(first + p, DType.F32, floats).toFloatArray();
            }
            return out;
        }
    }

    @Test
    void pagesOnTheDeviceEqualPagesOnTheCpuBitForBit() {
        assumeTrue(Backends.isAvailable(CUDA), () -> "no usable CUDA device: " + CudaDriver.get().failure());
        for (long seed = 1; seed <= 3; seed++) {
            int slots = (int) (2 + seed);
            float[][] cpu = run(Device.CPU, dir.resolve("cpu" + seed), seed, slots, 9, 1024);
            float[][] gpu = run(CUDA, dir.resolve("gpu" + seed), seed, slots, 9, 1024);
            assertEquals(cpu.length, gpu.length);
            for (int p = 0; p < cpu.length; p++) {
                assertArrayEquals(cpu[p], gpu[p], "seed " + seed + ", page " + p);
            }
        }
    }

    @Test
    void closingReturnsTheFastTierToTheAllocator() {
        assumeTrue(Backends.isAvailable(CUDA), () -> "no usable CUDA device: " + CudaDriver.get().failure());
        long before = Backends.of(CUDA).liveBytes();
        try (var pages = new PagedMemory(CUDA, 4096, 4 * 4096, dir)) {
            pages.allocatePages(8);
            assertTrue(Backends.of(CUDA).liveBytes() >= before + 4 * 4096);
        }
        assertEquals(before, Backends.of(CUDA).liveBytes());
    }
}
