package dev.tessera.core;

/**
 * Where a {@link PagedMemory} keeps its bytes: a fast tier of {@code slots} page-sized slots in
 * the backend's own memory (what kernels read), and a slow tier that holds every page. Made by
 * {@link Backend#pageTiers}. The CPU's tiers are off-heap RAM and a memory-mapped file, moved
 * with plain copies; a GPU's are device memory and pinned host memory, moved asynchronously on a
 * copy stream ordered against the compute stream by events.
 *
 * <p>A tier only moves bytes, in the order the calls give; {@link PagedMemory} decides which page
 * goes where.
 */
public interface PageTiers extends AutoCloseable {
    /** The fast tier: {@code slots × pageBytes} bytes on the backend's device. */
    Storage fast();

    /** Makes the slow tier hold at least {@code pages} pages; new pages are zero. */
    void growSlow(int pages);

    /**
     * Moves bytes between the tiers through fast slot {@code slot}, after every operation issued
     * so far that uses the slot: its bytes to slow page {@code out} (skipped when out is -1), then
     * slow page {@code in} into it. May return before the bytes have moved (see {@link #await}).
     */
    void swap(int slot, int out, int in);

    /** Operations issued from now on run after the slot's last {@link #swap} has finished. */
    void await(int slot);

    /** Waits for every move; returns the tiers' memory. */
    @Override
    void close();
}
