package dev.tessera.training.optim;

import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Optimizer state in fixed-size pages with two tiers: a fast tier of at most
 * {@code fastBudgetBytes} (off-heap RAM on the CPU) and a slow tier that holds every page (a
 * memory-mapped file, deleted on close). {@link #acquire} brings a page into the fast tier,
 * evicting the least recently used one back to the slow tier. Paging moves bytes, never changes
 * them, so a paged optimizer is bitwise equal to an unpaged one.
 *
 * <pre>{@code
 * try (var store = new PagedStateStore(1 << 20, 64L << 20, Files.createTempDirectory("pages"))) {
 *     int first = store.allocatePages(10);     // ten zeroed pages
 *     MemorySegment page = store.acquire(first); // valid until the next acquire evicts it
 * }
 * }</pre>
 */
public final class PagedStateStore implements AutoCloseable {
    private final long pageBytes;
    private final int fastSlots;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment fast;
    private final Path slowFile;
    private final FileChannel slowChannel;
    private MemorySegment slow;
    private Arena slowArena;
    private int pages;
    /** fast slot of each page, or -1 when only in the slow tier. */
    private int[] slotOfPage = new int[0];
    private final int[] pageInSlot;
    private final long[] lastUse;
    private long clock;
    private long pagesIn, pagesOut;

    /**
     * @param pageBytes       bytes per page (a multiple of 64)
     * @param fastBudgetBytes fast-tier budget; at least one page
     * @param slowDir         folder for the slow tier's file
     */
    public PagedStateStore(long pageBytes, long fastBudgetBytes, Path slowDir) {
        if (pageBytes <= 0 || pageBytes % 64 != 0) {
            throw new TesseraException("page size must be a positive multiple of 64 bytes, got " + pageBytes);
        }
        if (fastBudgetBytes < pageBytes) {
            throw new TesseraException("fast-tier budget " + fastBudgetBytes + " is smaller than one page (" + pageBytes + " bytes)");
        }
        this.pageBytes = pageBytes;
        this.fastSlots = (int) Math.min(Integer.MAX_VALUE, fastBudgetBytes / pageBytes);
        this.fast = arena.allocate(fastSlots * pageBytes, 64);
        this.pageInSlot = new int[fastSlots];
        Arrays.fill(pageInSlot, -1);
        this.lastUse = new long[fastSlots];
        try {
            Files.createDirectories(slowDir);
            this.slowFile = Files.createTempFile(slowDir, "tessera-pages-", ".bin");
            this.slowChannel = FileChannel.open(slowFile, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    StandardOpenOption.DELETE_ON_CLOSE);
        } catch (IOException e) {
            throw new TesseraException(slowDir + ": cannot create the paged optimizer's slow-tier file: " + e.getMessage(), e);
        }
    }

    public long pageBytes() {
        return pageBytes;
    }

    /** Adds {@code count} zeroed pages; returns the index of the first. */
    public synchronized int allocatePages(int count) {
        int first = pages;
        int total = pages + count;
        try {
            slowChannel.truncate(Math.max(slowChannel.size(), total * pageBytes));
            if (slowArena != null) {
                slowArena.close();
            }
            slowArena = Arena.ofShared();
            slow = slowChannel.map(FileChannel.MapMode.READ_WRITE, 0, total * pageBytes, slowArena);
        } catch (IOException e) {
            throw new TesseraException(slowFile + ": cannot grow the slow tier to " + total * pageBytes + " bytes: " + e.getMessage(), e);
        }
        slotOfPage = Arrays.copyOf(slotOfPage, total);
        Arrays.fill(slotOfPage, first, total, -1);
        slow.asSlice(first * pageBytes, count * pageBytes).fill((byte) 0);
        pages = total;
        return first;
    }

    /**
     * The fast-tier memory of {@code page}, loading it from the slow tier if needed. The segment
     * stays valid until a later acquire evicts the page, so acquire at most
     * {@link #fastPages()} pages at a time.
     */
    public synchronized MemorySegment acquire(int page) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " of " + pages);
        }
        int slot = slotOfPage[page];
        if (slot < 0) {
            slot = freeOrLeastRecentSlot();
            int evicted = pageInSlot[slot];
            if (evicted >= 0) {
                MemorySegment.copy(fast, slot * pageBytes, slow, evicted * pageBytes, pageBytes);
                slotOfPage[evicted] = -1;
                pagesOut++;
            }
            MemorySegment.copy(slow, page * pageBytes, fast, slot * pageBytes, pageBytes);
            pagesIn++;
            pageInSlot[slot] = page;
            slotOfPage[page] = slot;
        }
        lastUse[slot] = ++clock;
        return fast.asSlice(slot * pageBytes, pageBytes);
    }

    private int freeOrLeastRecentSlot() {
        int best = 0;
        for (int s = 0; s < fastSlots; s++) {
            if (pageInSlot[s] < 0) {
                return s;
            }
            if (lastUse[s] < lastUse[best]) {
                best = s;
            }
        }
        return best;
    }

    /** Pages the fast tier holds at once. */
    public int fastPages() {
        return fastSlots;
    }

    public synchronized int pages() {
        return pages;
    }

    /** Pages copied slow → fast so far. */
    public synchronized long pagesIn() {
        return pagesIn;
    }

    /** Pages copied fast → slow so far. */
    public synchronized long pagesOut() {
        return pagesOut;
    }

    /** The current bytes of every page in order (for checkpoints). */
    public synchronized List<MemorySegment> snapshot() {
        List<MemorySegment> out = new ArrayList<>();
        for (int p = 0; p < pages; p++) {
            int slot = slotOfPage[p];
            out.add(slot >= 0 ? fast.asSlice(slot * pageBytes, pageBytes) : slow.asSlice(p * pageBytes, pageBytes));
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (!arena.scope().isAlive()) {
            return;
        }
        try {
            if (slowArena != null) {
                slowArena.close();
            }
            slowChannel.close();
        } catch (IOException e) {
            throw new TesseraException(slowFile + ": " + e.getMessage(), e);
        } finally {
            arena.close();
        }
    }
}
