package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.check;

import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaStatus;
import dev.tessera.cuda.ffi.cuda_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Caching allocator for one device, like core's host allocator: freed blocks go to a free list
 * per size class and are handed out again, so a training step calls cuMemAlloc only in step 1.
 * Size classes are multiples of 512 bytes up to 64 KiB, then 8 per power of two (at most 12.5%
 * waste).
 *
 * <p>Blocks are reused in stream order: every kernel and copy runs on the context's one stream,
 * so a block freed by the host after enqueuing its last use is safe to hand to the next enqueued
 * op. On out-of-memory the cache is returned to the driver (after a stream sync) and the
 * allocation retried once.
 */
final class DeviceAllocator {
    static final long GRANULE = 512;

    private final CudaContext context;
    private final Map<Long, ArrayDeque<Long>> freeLists = new HashMap<>();
    private final Map<Long, Long> sizes = new HashMap<>();  // address -> size class, for every block we own
    private long liveBytes;
    private long cachedBytes;
    private long peakLiveBytes;

    DeviceAllocator(CudaContext context) {
        this.context = context;
    }

    static long sizeClass(long bytes) {
        if (bytes <= 64 * 1024) {
            return Math.max(GRANULE, (bytes + GRANULE - 1) / GRANULE * GRANULE);
        }
        long step = Long.highestOneBit(bytes) / 8;
        return (bytes + step - 1) / step * step;
    }

    /** A device address of at least {@code bytes}, contents unspecified. */
    synchronized long allocate(long bytes) {
        if (bytes < 0) {
            throw new TesseraException("cannot allocate a negative byte count: " + bytes);
        }
        long size = sizeClass(bytes);
        ArrayDeque<Long> list = freeLists.get(size);
        Long cached = list == null ? null : list.pollFirst();
        long address;
        if (cached != null) {
            address = cached;
            cachedBytes -= size;
        } else {
            address = driverAllocate(size);
            sizes.put(address, size);
        }
        liveBytes += size;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return address;
    }

    /** Returns a block to its free list; called by Storage.release on any thread (no driver call). */
    synchronized void free(long address) {
        Long size = sizes.get(address);
        if (size == null) {
            throw new IllegalStateException("freeing device memory this allocator did not hand out");
        }
        liveBytes -= size;
        cachedBytes += size;
        freeLists.computeIfAbsent(size, k -> new ArrayDeque<>()).addFirst(address);
    }

    private long driverAllocate(long size) {
        context.enter();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            int result = cuda_h.cuMemAlloc_v2(out, size);
            if (result == cuda_h.CUDA_ERROR_OUT_OF_MEMORY() && cachedBytes > 0) {
                releaseCached();
                result = cuda_h.cuMemAlloc_v2(out, size);
            }
            if (result == cuda_h.CUDA_ERROR_OUT_OF_MEMORY()) {
                MemoryInfo info = context.memoryInfo();
                throw new TesseraException("CUDA out of memory on " + context.device() + ": cannot allocate " + size
                        + " bytes (" + liveBytes + " in use by tensors, " + info.freeBytes() + " free of "
                        + info.totalBytes() + ")");
            }
            check(result, "cuMemAlloc_v2(" + size + " bytes)");
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** Returns every cached block to the driver. */
    synchronized void releaseCached() {
        if (cachedBytes == 0) {
            return;
        }
        context.synchronize();
        for (ArrayDeque<Long> list : freeLists.values()) {
            for (long address : list) {
                sizes.remove(address);
                CudaStatus.check(cuda_h.cuMemFree_v2(address), "cuMemFree_v2");
            }
        }
        freeLists.clear();
        cachedBytes = 0;
    }

    synchronized long liveBytes() {
        return liveBytes;
    }

    synchronized long cachedBytes() {
        return cachedBytes;
    }

    synchronized long peakLiveBytes() {
        return peakLiveBytes;
    }
}
