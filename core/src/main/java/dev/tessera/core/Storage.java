package dev.tessera.core;

import java.lang.foreign.MemorySegment;

/**
 * The bytes behind one or more tensor views. CPU storage is a 64-byte-aligned off-heap
 * {@link MemorySegment}; it is returned to its allocator when the owning {@link Scope} closes
 * (or {@link #release()} is called), after which any access fails loudly instead of reading
 * reused memory.
 */
public final class Storage {
    private final Device device;
    private final long bytes;
    private final CachingAllocator allocator; // null for storage we do not own (e.g. mmapped files)
    private MemorySegment segment;

    Storage(Device device, MemorySegment segment, long bytes, CachingAllocator allocator) {
        this.device = device;
        this.segment = segment;
        this.bytes = bytes;
        this.allocator = allocator;
    }

    /** New storage from {@code allocator}, owned by the current {@link Scope} (if any). */
    public static Storage allocate(Device device, CachingAllocator allocator, long bytes) {
        Storage s = new Storage(device, allocator.allocate(bytes), bytes, allocator);
        Scope.register(s);
        return s;
    }

    public Device device() {
        return device;
    }

    /** Size in bytes as requested (the allocator may have reserved more). */
    public long byteSize() {
        return bytes;
    }

    /** The memory; throws if this storage was already released. */
    public MemorySegment segment() {
        MemorySegment s = segment;
        if (s == null) {
            throw new TesseraException("tensor storage used after its scope closed (keep() it to use it longer)");
        }
        return s;
    }

    public boolean isReleased() {
        return segment == null;
    }

    /** Returns the memory to the allocator's cache. Idempotent. */
    public synchronized void release() {
        if (segment != null) {
            if (allocator != null) {
                allocator.free(segment);
            }
            segment = null;
        }
    }
}
