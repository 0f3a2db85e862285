package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PagedMemory}'s bookkeeping, counted exactly: least-recently-used eviction, page numbering
 * across allocations, the edges of its size checks, and close (the fast tier returned, later use
 * refused, also before any page was allocated).
 */
class PagedMemoryEdgesTest {
    private static final int PAGE = 64; // 16 floats

    @TempDir
    Path dir;

    @Test
    void theLeastRecentlyUsedPageIsEvictedAndResidentPagesAreNotCopied() {
        try (var pages = new PagedMemory(Device.CPU, PAGE, 2 * PAGE + 10, dir); var scope = Scope.open()) {
            assertEquals(Device.CPU, pages.device());
            assertEquals(PAGE, pages.pageBytes());
            assertEquals(2, pages.fastPages(), "138 bytes hold two whole pages");
            assertEquals(0, pages.allocatePages(3));
            pages.acquire(0, DType.F32, 16);
            pages.acquire(1, DType.F32, 16);
            assertEquals(2, pages.pagesIn());
            assertEquals(0, pages.pagesOut(), "free slots first");
            pages.acquire(0, DType.F32, 16); // page 0 is now the more recent
            assertEquals(2, pages.pagesIn(), "a resident page is not copied again");
            pages.acquire(2, DType.F32, 16); // evicts page 1
            assertEquals(3, pages.pagesIn());
            assertEquals(1, pages.pagesOut());
            pages.acquire(0, DType.F32, 16);
            assertEquals(3, pages.pagesIn(), "page 0 stayed");
            pages.prefetch(1); // evicts page 2, used before page 0
            assertEquals(4, pages.pagesIn());
            pages.acquire(0, DType.F32, 16);
            pages.acquire(1, DType.F32, 16);
            assertEquals(4, pages.pagesIn(), "pages 0 and 1 both stayed");
            assertEquals(2, pages.pagesOut());
        }
    }

    @Test
    void pagesAreNumberedAcrossAllocationsAndGrowingKeepsEvictedBytes() {
        try (var pages = new PagedMemory(Device.CPU, PAGE, PAGE, dir); var scope = Scope.open()) {
            assertEquals(1, pages.fastPages(), "a budget of exactly one page");
            assertEquals(0, pages.allocatePages(2));
            pages.acquire(0, DType.F32, 16).fill(3f);
            pages.acquire(1, DType.F32, 16).fill(4f); // page 0 goes to the slow tier
            assertEquals(2, pages.allocatePages(1));
            assertEquals(3, pages.pages());
            float[] three = new float[16], four = new float[16];
            java.util.Arrays.fill(three, 3f);
            java.util.Arrays.fill(four, 4f);
            assertArrayEquals(three, pages.acquire(0, DType.F32, 16).toFloatArray(), "page 0 survived the growth");
            assertArrayEquals(four, pages.acquire(1, DType.F32, 16).toFloatArray());
            assertArrayEquals(new float[16], pages.acquire(2, DType.F32, 16).toFloatArray(), "a new page is zero");
            assertEquals(0, pages.acquire(2, DType.F32, 0).numel(), "no elements is a fit");
            assertThrows(TesseraException.class, () -> pages.acquire(2, DType.F32, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> pages.acquire(-1, DType.F32, 1));
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> pages.acquire(3, DType.F32, 1));
            org.junit.jupiter.api.Assertions.assertEquals("page 3 of 3", e.getMessage());
        }
    }

    @Test
    void closeReturnsTheFastTierAndRefusesLaterUse() throws IOException {
        Path own = Files.createDirectories(dir.resolve("own"));
        var pages = new PagedMemory(Device.CPU, PAGE, 2 * PAGE, own);
        pages.allocatePages(2);
        Tensor t = pages.acquire(0, DType.F32, 16);
        pages.close();
        assertThrows(IllegalStateException.class, t::toFloatArray, "the fast tier's memory is returned");
        TesseraException closed = assertThrows(TesseraException.class, () -> pages.allocatePages(1));
        org.junit.jupiter.api.Assertions.assertTrue(closed.getMessage().contains("used after close"), closed.getMessage());
        assertThrows(TesseraException.class, () -> new PagedMemory(Device.CPU, 0, 64, dir), "a page of 0 bytes");
        assertThrows(TesseraException.class, () -> pages.prefetch(1));
        assertThrows(TesseraException.class, () -> pages.acquire(1, DType.F32, 1));
        pages.close(); // a second close does nothing
        // closing before any page was allocated
        Path other = Files.createDirectories(dir.resolve("other"));
        new PagedMemory(Device.CPU, PAGE, PAGE, other).close();
        // (the slow file cannot be watched: on Unix DELETE_ON_CLOSE unlinks it as soon as it is opened)
    }
}
