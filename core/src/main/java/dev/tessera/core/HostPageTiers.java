package dev.tessera.core;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The CPU's {@link PageTiers}: the fast tier in off-heap RAM, the slow tier a memory-mapped file
 * (in {@code slowDir}, deleted on close). Swaps are synchronous copies.
 */
final class HostPageTiers implements PageTiers {
    private final long pageBytes;
    private final Arena arena = Arena.ofShared();
    private final Storage fast;
    private final Path slowFile;
    private final FileChannel slowChannel;
    private MemorySegment slow;
    private Arena slowArena;
    private int slowPages;

    HostPageTiers(long pageBytes, int slots, Path slowDir) {
        this.pageBytes = pageBytes;
        this.fast = new Storage(Device.CPU, arena.allocate(slots * pageBytes, 64), slots * pageBytes, null);
        try {
            Files.createDirectories(slowDir);
            this.slowFile = Files.createTempFile(slowDir, "tessera-pages-", ".bin");
            this.slowChannel = FileChannel.open(slowFile, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    StandardOpenOption.DELETE_ON_CLOSE);
        } catch (IOException e) {
            arena.close();
            throw new TesseraException(slowDir + ": cannot create the paged optimizer's slow-tier file: " + e.getMessage(), e);
        }
    }

    @Override
    public Storage fast() {
        return fast;
    }

    @Override
    public void growSlow(int pages) {
        if (pages <= slowPages) {
            return;
        }
        long bytes = pages * pageBytes;
        try {
            slowChannel.truncate(Math.max(slowChannel.size(), bytes));
            Arena next = Arena.ofShared();
            MemorySegment mapped = slowChannel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, next);
            if (slowArena != null) {
                slowArena.close();
            }
            slowArena = next;
            slow = mapped;
        } catch (IOException e) {
            throw new TesseraException(slowFile + ": cannot grow the slow tier to " + bytes + " bytes: " + e.getMessage(), e);
        }
        slow.asSlice(slowPages * pageBytes, (pages - slowPages) * pageBytes).fill((byte) 0);
        slowPages = pages;
    }

    @Override
    public void swap(int slot, int out, int in) {
        MemorySegment f = fast.segment();
        if (out >= 0) {
            MemorySegment.copy(f, slot * pageBytes, slow, out * pageBytes, pageBytes);
        }
        MemorySegment.copy(slow, in * pageBytes, f, slot * pageBytes, pageBytes);
    }

    @Override
    public void await(int slot) {
        // swaps are synchronous
    }

    @Override
    public void close() {
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
