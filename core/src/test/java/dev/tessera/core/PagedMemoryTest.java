package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU backend's page tiers (off-heap fast tier, memory-mapped slow tier) through
 * {@link PagedMemory} against a reference that keeps every page in a plain array: any sequence of
 * writes, reads and prefetches with any fast-tier size gives the reference's bytes.
 */
class PagedMemoryTest {
    private static final int FLOATS = 16;   // a page of 64 bytes

    @TempDir
    Path dir;

    @Test
    void anySequenceOfUpdatesAndPrefetchesKeepsTheBytesOfAPlainArray() {
        qt().withExamples(60).forAll(integers().between(1, 5), integers().between(1, 12), longs().all())
                .checkAssert((slots, pageCount, seed) -> {
                    Random random = new Random(seed);
                    float[][] reference = new float[pageCount][FLOATS];
                    try (var pages = new PagedMemory(Device.CPU, FLOATS * 4, slots * FLOATS * 4L, dir);
                         var scope = Scope.open()) {
                        int first = pages.allocatePages(pageCount);
                        for (int op = 0; op < 60; op++) {
                            int page = random.nextInt(pageCount);
                            if (random.nextInt(4) == 0) {
                                pages.prefetch(first + page);
                                continue;
                            }
                            float scale = 1 + random.nextFloat(), shift = random.nextFloat() - 0.5f;
                            Tensor t = pages.acquire(first + page, DType.F32, FLOATS);
                            Backends.cpu().unary(Backend.UnaryOp.MUL_SCALAR, t, t, scale, 0);
                            Backends.cpu().unary(Backend.UnaryOp.ADD_SCALAR, t, t, shift, 0);
                            for (int i = 0; i < FLOATS; i++) {
                                reference[page][i] = reference[page][i] * scale + shift;
                            }
                        }
                        for (int p = 0; p < pageCount; p++) {
                            assertArrayEquals(reference[p], pages.acquire(first + p, DType.F32, FLOATS).toFloatArray(),
                                    "page " + p + " of " + pageCount + " with " + slots + " fast slots");
                        }
                        assertTrue(pageCount <= slots || pages.pagesOut() > 0, "a small fast tier evicts pages");
                    }
                });
    }

    @Test
    void newPagesAreZeroAndAPageViewHoldsAnyDtype() {
        try (var pages = new PagedMemory(Device.CPU, 256, 512, dir); var scope = Scope.open()) {
            int first = pages.allocatePages(3);
            assertArrayEquals(new float[64], pages.acquire(first + 2, DType.F32, 64).toFloatArray());
            Tensor codes = pages.acquire(first, DType.U8, 256);
            assertEquals(DType.U8, codes.dtype());
            assertEquals(256, codes.numel());
            assertEquals(3, pages.pages());
        }
    }

    @Test
    void badSizesAndPagesGiveClearErrors() {
        assertThrows(TesseraException.class, () -> new PagedMemory(Device.CPU, 100, 1000, dir));
        assertThrows(TesseraException.class, () -> new PagedMemory(Device.CPU, 128, 64, dir));
        try (var pages = new PagedMemory(Device.CPU, 128, 256, dir)) {
            pages.allocatePages(1);
            assertThrows(TesseraException.class, () -> pages.acquire(0, DType.F32, 33));
            assertThrows(IndexOutOfBoundsException.class, () -> pages.acquire(1, DType.F32, 1));
        }
    }
}
