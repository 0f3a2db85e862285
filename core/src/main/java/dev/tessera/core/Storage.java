package dev.tessera.core;

import java.lang.foreign.MemorySegment;
import java.util.function.LongConsumer;

/**
 * The bytes behind one or more tensor views. CPU storage is a 64-byte-aligned off-heap
 * {@link MemorySegment}; device storage is a device address that is never wrapped as a host
 * segment. Storage is released when its owning {@link Scope} closes (or {@link #release()} is
 * called), after which any access fails loudly instead of reading reused memory.
 */
public final class Storage {
    private final Device device;
    private final long bytes;
    private final CachingAllocator allocator; // CPU memory we own; null otherwise
    private final LongConsumer deviceFree;    // returns a device address to its allocator
    private MemorySegment segment;            // CPU only
    private long deviceAddress;               // non-CPU only
    private boolean released;

    Storage(Device device, MemorySegment segment, long bytes, CachingAllocator allocator) {
        this.device = device;
        this.segment = segment;
        this.bytes = bytes;
        this.allocator = allocator;
        this.deviceFree = null;
    }

    private Storage(Device device, long address, long bytes, LongConsumer free) {
        this.device = device;
        this.deviceAddress = address;
        this.bytes = bytes;
        this.allocator = null;
        this.deviceFree = free;
    }

    /** New CPU storage from {@code allocator}, owned by the current {@link Scope} (if any). */
    public static Storage allocate(Device device, CachingAllocator allocator, long bytes) {
        Storage s = new Storage(device, allocator.allocate(bytes), bytes, allocator);
        Scope.register(s);
        return s;
    }

    /**
     * Storage over device memory at {@code address} (from a device backend's allocator), owned by
     * the current scope; {@code free} is called with the address on release.
     */
    public static Storage deviceMemory(Device device, long address, long bytes, LongConsumer free) {
        if (device.isCpu()) {
            throw new IllegalArgumentException("deviceMemory is for non-CPU devices");
        }
        Storage s = new Storage(device, address, bytes, free);
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

    /** The host memory of CPU storage; throws if released or on a device. */
    public MemorySegment segment() {
        checkLive();
        if (segment == null) {
            throw new TesseraException("storage on " + device + " has no host memory; copy the tensor to the CPU first");
        }
        return segment;
    }

    /** The device address of non-CPU storage. */
    public long deviceAddress() {
        checkLive();
        if (device.isCpu()) {
            throw new IllegalStateException("CPU storage has no device address");
        }
        return deviceAddress;
    }

    private void checkLive() {
        if (released) {
            throw new TesseraException("tensor storage used after its scope closed (keep() it to use it longer)");
        }
    }

    public boolean isReleased() {
        return released;
    }

    /** Returns the memory to its allocator. Idempotent. */
    public synchronized void release() {
        if (released) {
            return;
        }
        released = true;
        if (allocator != null) {
            allocator.free(segment);
        } else if (deviceFree != null) {
            deviceFree.accept(deviceAddress);
        }
        segment = null;
    }
}
