package dev.tessera.training.optim;

import dev.tessera.core.Device;
import dev.tessera.core.PagedMemory;
import dev.tessera.core.TesseraException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A paged optimizer's state memory: one {@link PagedMemory} per device its parameters live on,
 * each with a fast tier of at most {@code fastBudgetBytes} (off-heap RAM on the CPU, device
 * memory on a GPU) and a slow tier holding every page (a memory-mapped file under
 * {@code slowDir} on the CPU, pinned host memory on a GPU). Paging moves bytes, never changes
 * them, so a paged optimizer is bitwise equal to an unpaged one.
 *
 * <pre>{@code
 * try (var store = new PagedStateStore(1 << 20, 64L << 20, Files.createTempDirectory("pages"))) {
 *     PagedMemory pages = store.on(param.device());
 *     int first = pages.allocatePages(10);                  // ten zeroed pages
 *     Tensor m = pages.acquire(first, DType.F32, 1000);     // valid until evicted
 * }
 * }</pre>
 */
public final class PagedStateStore implements AutoCloseable {
    private final long pageBytes;
    private final long fastBudgetBytes;
    private final Path slowDir;
    private final Map<Device, PagedMemory> byDevice = new LinkedHashMap<>();
    private boolean closed;

    /**
     * @param pageBytes       bytes per page (a multiple of 64)
     * @param fastBudgetBytes fast-tier budget per device; at least one page
     * @param slowDir         folder for the CPU slow tier's file
     */
    public PagedStateStore(long pageBytes, long fastBudgetBytes, Path slowDir) {
        if (pageBytes <= 0 || pageBytes % 64 != 0) {
            throw new TesseraException("page size must be a positive multiple of 64 bytes, got " + pageBytes);
        }
        if (fastBudgetBytes < pageBytes) {
            throw new TesseraException("fast-tier budget " + fastBudgetBytes + " is smaller than one page (" + pageBytes + " bytes)");
        }
        this.pageBytes = pageBytes;
        this.fastBudgetBytes = fastBudgetBytes;
        this.slowDir = slowDir;
    }

    public long pageBytes() {
        return pageBytes;
    }

    /** Pages each device's fast tier holds at once. */
    public int fastPages() {
        return (int) Math.min(Integer.MAX_VALUE, fastBudgetBytes / pageBytes);
    }

    /** The pages on {@code device}, made at first use. */
    public synchronized PagedMemory on(Device device) {
        if (closed) {
            throw new TesseraException("paged optimizer state used after close");
        }
        return byDevice.computeIfAbsent(device, d -> new PagedMemory(d, pageBytes, fastBudgetBytes, slowDir));
    }

    /** Pages on every device. */
    public synchronized int pages() {
        return byDevice.values().stream().mapToInt(PagedMemory::pages).sum();
    }

    /** Pages copied slow → fast so far, on every device. */
    public synchronized long pagesIn() {
        return byDevice.values().stream().mapToLong(PagedMemory::pagesIn).sum();
    }

    /** Pages copied fast → slow so far, on every device. */
    public synchronized long pagesOut() {
        return byDevice.values().stream().mapToLong(PagedMemory::pagesOut).sum();
    }

    @Override
    public synchronized void close() {
        closed = true;
        TesseraException failure = null;
        for (PagedMemory pages : byDevice.values()) {
            try {
                pages.close();
            } catch (TesseraException e) {
                failure = failure == null ? e : failure;
            }
        }
        byDevice.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
