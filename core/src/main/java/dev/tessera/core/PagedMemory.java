package dev.tessera.core;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fixed-size pages of memory for one device with two tiers (see {@link PageTiers}): a fast tier
 * of at most {@code fastBudgetBytes} that kernels read (off-heap RAM on the CPU, device memory on
 * a GPU) and a slow tier that holds every page (a memory-mapped file on the CPU, pinned host
 * memory on a GPU). {@link #acquire} gives a page as a tensor in the fast tier, evicting the least
 * recently used page back to the slow tier; {@link #prefetch} starts bringing a page in before it
 * is needed (on a GPU the copy overlaps the kernels running meanwhile). Paging moves bytes, never
 * changes them.
 *
 * <pre>{@code
 * try (var pages = new PagedMemory(Device.CPU, 1 << 20, 64L << 20, Files.createTempDirectory("pages"))) {
 *     int first = pages.allocatePages(10);                    // ten zeroed pages
 *     pages.prefetch(first + 1);                              // on its way while page 0 is used
 *     Tensor m = pages.acquire(first, DType.F32, 1000);       // F32 [1000] over page 0
 * }
 * }</pre>
 */
public final class PagedMemory implements AutoCloseable {
    private final Device device;
    private final long pageBytes;
    private final int slots;
    private final PageTiers tiers;
    private int pages;
    /** fast slot of each page, or -1 when only in the slow tier. */
    private int[] slotOfPage = new int[0];
    private final int[] pageInSlot;
    private final long[] lastUse;
    private long clock;
    private long pagesIn, pagesOut;
    private boolean closed;

    /**
     * @param device          where the fast tier is (the device of the tensors the pages serve)
     * @param pageBytes       bytes per page (a positive multiple of 64)
     * @param fastBudgetBytes fast-tier budget; at least one page
     * @param slowDir         folder for the slow tier's file, where the device's slow tier is a file
     */
    public PagedMemory(Device device, long pageBytes, long fastBudgetBytes, Path slowDir) {
        if (pageBytes <= 0 || pageBytes % 64 != 0) {
            throw new TesseraException("page size must be a positive multiple of 64 bytes, got " + pageBytes);
        }
        if (fastBudgetBytes < pageBytes) {
            throw new TesseraException("fast-tier budget " + fastBudgetBytes + " is smaller than one page (" + pageBytes + " bytes)");
        }
        this.device = device;
        this.pageBytes = pageBytes;
        this.slots = (int) Math.min(Integer.MAX_VALUE, fastBudgetBytes / pageBytes);
        this.pageInSlot = new int[slots];
        Arrays.fill(pageInSlot, -1);
        this.lastUse = new long[slots];
        this.tiers = Scope.unowned(() -> Backends.of(device).pageTiers(pageBytes, slots, slowDir));
    }

    public Device device() {
        return device;
    }

    public long pageBytes() {
        return pageBytes;
    }

    /** Pages the fast tier holds at once. */
    public int fastPages() {
        return slots;
    }

    public synchronized int pages() {
        return pages;
    }

    /** Adds {@code count} zeroed pages; returns the index of the first. */
    public synchronized int allocatePages(int count) {
        checkOpen();
        int first = pages;
        int total = Math.addExact(pages, count);
        tiers.growSlow(total);
        slotOfPage = Arrays.copyOf(slotOfPage, total);
        Arrays.fill(slotOfPage, first, total, -1);
        pages = total;
        return first;
    }

    /**
     * Starts bringing {@code page} into the fast tier without waiting for it, evicting the least
     * recently used page; a later {@link #acquire} of it then finds it there.
     */
    public synchronized void prefetch(int page) {
        slotFor(page);
    }

    /**
     * The first {@code count} elements of {@code page} as a contiguous {@code dtype} tensor in the
     * fast tier, on {@link #device()}; operations issued after this call see the page's bytes and
     * their writes are kept. The tensor is valid until the page is evicted: acquire or prefetch at
     * most {@link #fastPages()} pages while it is in use.
     */
    public synchronized Tensor acquire(int page, DType dtype, int count) {
        if (count < 0 || (long) count * dtype.byteSize() > pageBytes) {
            throw new TesseraException(count + " " + dtype + " values do not fit in a page of " + pageBytes + " bytes");
        }
        int slot = slotFor(page);
        tiers.await(slot);
        long first = slot * pageBytes / dtype.byteSize();
        return new Tensor(tiers.fast(), dtype, new int[] {count}, new long[] {1}, first);
    }

    private int slotFor(int page) {
        checkOpen();
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " of " + pages);
        }
        int slot = slotOfPage[page];
        if (slot < 0) {
            slot = freeOrLeastRecentSlot();
            int evicted = pageInSlot[slot];
            if (evicted >= 0) {
                slotOfPage[evicted] = -1;
                pagesOut++;
            }
            tiers.swap(slot, evicted, page);
            pagesIn++;
            pageInSlot[slot] = page;
            slotOfPage[page] = slot;
        }
        lastUse[slot] = ++clock;
        return slot;
    }

    private int freeOrLeastRecentSlot() {
        int best = 0;
        for (int s = 0; s < slots; s++) {
            if (pageInSlot[s] < 0) {
                return s;
            }
            if (lastUse[s] < lastUse[best]) {
                best = s;
            }
        }
        return best;
    }

    /** Pages copied slow → fast so far. */
    public synchronized long pagesIn() {
        return pagesIn;
    }

    /** Pages copied fast → slow so far. */
    public synchronized long pagesOut() {
        return pagesOut;
    }

    private void checkOpen() {
        if (closed) {
            throw new TesseraException("paged memory on " + device + " used after close");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            tiers.close();
        }
    }
}
