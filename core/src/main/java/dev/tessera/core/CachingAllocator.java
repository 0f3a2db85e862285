package dev.tessera.core;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
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
 * <p>New blocks come from the C library's {@code aligned_alloc}, not {@code Arena.allocate}: an
 * arena zero-fills every block, and most blocks (GEMM outputs, gradients, optimizer moments) are
 * written in full before they are read, so the fill was pure memory traffic (a third of the first
 * training step of GPT-2 124M). Contents are unspecified; {@code Tensor.zeros} fills explicitly.
 * With {@code -Dtessera.alloc.poison=true} every block handed out is filled with NaN bytes first,
 * which makes any read of unwritten memory show up in the tests.
 *
 * <p>{@link #liveBytes()} counts bytes handed out and not yet freed; the memory test asserts it
 * returns to its level after step 1. {@link #hits()} and {@link #misses()} count allocations
 * served from the free lists and from the operating system.
 */
public final class CachingAllocator {
    static final long ALIGNMENT = 64;
    private static final boolean POISON = Boolean.getBoolean("tessera.alloc.poison");
    private static final MethodHandle ALIGNED_ALLOC;
    private static final MethodHandle FREE;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        ALIGNED_ALLOC = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(libc.find("free").orElseThrow(),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    private final Map<Long, ArrayDeque<MemorySegment>> freeLists = new HashMap<>();
    /** Every block ever allocated and not yet returned to the OS, by base address. */
    private final Map<Long, MemorySegment> blocks = new HashMap<>();
    /** Base addresses of the blocks handed out and not freed: a second free of one is refused. */
    private final Set<Long> handedOut = new HashSet<>();

    private long liveBytes;
    private long cachedBytes;
    private long peakLiveBytes;
    private long hits;
    private long misses;

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
            hits++;
        } else {
            block = fromSystem(size);
            if (block == null) {
                releaseCached();
                block = fromSystem(size);
                if (block == null) {
                    throw new OutOfMemoryError("cannot allocate " + size + " bytes of off-heap memory");
                }
            }
            blocks.put(block.address(), block);
            misses++;
        }
        if (POISON) {
            block.fill((byte) 0xFF);
        }
        handedOut.add(block.address());
        liveBytes += size;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return block.asSlice(0, bytes);
    }

    /** A fresh block from the C library, or null when it has none. */
    private static MemorySegment fromSystem(long size) {
        try {
            MemorySegment p = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGNMENT, size);
            return p.equals(MemorySegment.NULL) ? null : p.reinterpret(size);
        } catch (Throwable t) {
            throw new IllegalStateException("aligned_alloc failed", t);
        }
    }

    private static void toSystem(MemorySegment block) {
        try {
            FREE.invokeExact(block);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }

    synchronized void free(MemorySegment slice) {
        long size = sizeClass(slice.byteSize());
        MemorySegment block = blocks.get(slice.address());
        if (block == null) {
            throw new IllegalStateException("freeing memory this allocator did not hand out");
        }
        if (!handedOut.remove(slice.address())) {
            // Listing the block twice would hand it to two owners at once.
            throw new IllegalStateException("freeing a block that is already free");
        }
        liveBytes -= size;
        cachedBytes += size;
        freeLists.computeIfAbsent(size, k -> new ArrayDeque<>()).addFirst(block);
    }

    /** Returns every cached block to the operating system. */
    public synchronized void releaseCached() {
        for (ArrayDeque<MemorySegment> list : freeLists.values()) {
            for (MemorySegment s : list) {
                toSystem(blocks.remove(s.address()));
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

    /** Allocations served from the free lists since start. */
    public synchronized long hits() {
        return hits;
    }

    /** Allocations that needed new memory from the operating system since start. */
    public synchronized long misses() {
        return misses;
    }
}
