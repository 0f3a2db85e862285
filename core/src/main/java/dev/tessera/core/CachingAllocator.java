package dev.tessera.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Off-heap allocator with size classes: freed blocks go to a per-class free list and are handed
 * out again, so a training step allocates nothing new after the first one. Size classes are 8 per
 * power of two (at most 12.5% waste) above 4 KiB and multiples of 64 bytes below.
 *
 * <p>{@link #liveBytes()} counts bytes handed out and not yet freed; the memory test asserts it
 * returns to its level after step 1.
 */
public final class CachingAllocator {
    static final long ALIGNMENT = 64;

    private final Map<Long, ArrayDeque<MemorySegment>> freeLists = new HashMap<>();
    /** Every block ever allocated and not yet returned to the OS, by base address. */
    private final Map<Long, Block> blocks = new HashMap<>();
    /** Base addresses of the blocks handed out and not freed: a second free of one is refused. */
    private final Set<Long> handedOut = new HashSet<>();

    private record Block(Arena arena, MemorySegment memory) {}
    private long liveBytes;
    private long cachedBytes;
    private long peakLiveBytes;

    static long sizeClass(long bytes) {
        if (bytes <= 4096) {
            return Math.max(ALIGNMENT, (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
        }
        long high = Long.highestOneBit(bytes);
        long step = high / 8;
        return (bytes + step - 1) / step * step;
    }

    /** A block of at least {@code bytes}, 64-byte aligned, contents unspecified. */
    public synchronized MemorySegment allocate(long bytes) {
        if (bytes < 0) {
            throw new TesseraException("cannot allocate a negative byte count: " + bytes);
        }
        long size = sizeClass(bytes);
        ArrayDeque<MemorySegment> list = freeLists.get(size);
        MemorySegment block = list == null ? null : list.pollFirst();
        if (block != null) {
            cachedBytes -= size;
        } else {
            Arena arena = Arena.ofShared();
            try {
                block = arena.allocate(size, ALIGNMENT);
            } catch (OutOfMemoryError e) {
                releaseCached();
                block = arena.allocate(size, ALIGNMENT);
            }
            blocks.put(block.address(), new Block(arena, block));
        }
        handedOut.add(block.address());
        liveBytes += size;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return block.asSlice(0, bytes);
    }

    synchronized void free(MemorySegment slice) {
        long size = sizeClass(slice.byteSize());
        Block block = blocks.get(slice.address());
        if (block == null) {
            throw new IllegalStateException("freeing memory this allocator did not hand out");
        }
        if (!handedOut.remove(slice.address())) {
            // Listing the block twice would hand it to two owners at once.
            throw new IllegalStateException("freeing a block that is already free");
        }
        liveBytes -= size;
        cachedBytes += size;
        freeLists.computeIfAbsent(size, k -> new ArrayDeque<>()).addFirst(block.memory());
    }

    /** Returns every cached block to the operating system. */
    public synchronized void releaseCached() {
        for (ArrayDeque<MemorySegment> list : freeLists.values()) {
            for (MemorySegment s : list) {
                blocks.remove(s.address()).arena().close();
            }
        }
        freeLists.clear();
        cachedBytes = 0;
    }

    /** Bytes handed out and not freed (in size-class units). */
    public synchronized long liveBytes() {
        return liveBytes;
    }

    /** Bytes held in free lists for reuse. */
    public synchronized long cachedBytes() {
        return cachedBytes;
    }

    /** Highest {@link #liveBytes()} seen since start or {@link #resetPeak()}. */
    public synchronized long peakLiveBytes() {
        return peakLiveBytes;
    }

    public synchronized void resetPeak() {
        peakLiveBytes = liveBytes;
    }
}
