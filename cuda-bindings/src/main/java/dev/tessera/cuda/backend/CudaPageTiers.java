package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.check;

import dev.tessera.core.PageTiers;
import dev.tessera.core.Storage;
import dev.tessera.cuda.ffi.cuda_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@link PageTiers} of a CUDA device: the fast tier in device memory (from the backend's
 * allocator), the slow tier in pinned host memory (cuMemAllocHost, one block per growth), and a
 * copy stream of their own so that pages move while kernels run.
 *
 * <p>Ordering, with two events per slot. A swap records {@code used[slot]} on the compute stream
 * (after every kernel issued so far that reads or writes the slot) and makes the copy stream wait
 * for it; the copy stream then writes the slot back to its slow page, reads the new page in, and
 * records {@code arrived[slot]}. {@link #await} makes the compute stream wait for
 * {@code arrived[slot]}, so a kernel issued after it sees the new page. The host never touches a
 * slow page a copy may be using: new pages are zeroed before any copy can name them.
 */
final class CudaPageTiers implements PageTiers {
    private final CudaContext context;
    private final long pageBytes;
    private final Storage fast;
    private final MemorySegment copyStream;
    private final MemorySegment[] used;
    private final MemorySegment[] arrived;
    /** pinned blocks of the slow tier: block b holds pages [firstPage[b], firstPage[b+1]) */
    private final List<MemorySegment> blocks = new ArrayList<>();
    private final List<Integer> firstPage = new ArrayList<>();
    private int slowPages;
    private boolean closed;

    CudaPageTiers(CudaContext context, Storage fast, long pageBytes, int slots) {
        this.context = context;
        this.pageBytes = pageBytes;
        this.fast = fast;
        context.enter();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(cuda_h.cuStreamCreate(out, cuda_h.CU_STREAM_NON_BLOCKING()), "cuStreamCreate(page copies)");
            copyStream = out.get(ValueLayout.ADDRESS, 0);
            used = new MemorySegment[slots];
            arrived = new MemorySegment[slots];
            for (int s = 0; s < slots; s++) {
                check(cuda_h.cuEventCreate(out, cuda_h.CU_EVENT_DISABLE_TIMING()), "cuEventCreate");
                used[s] = out.get(ValueLayout.ADDRESS, 0);
                check(cuda_h.cuEventCreate(out, cuda_h.CU_EVENT_DISABLE_TIMING()), "cuEventCreate");
                arrived[s] = out.get(ValueLayout.ADDRESS, 0);
            }
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
        long bytes = (pages - slowPages) * pageBytes;
        context.enter();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(cuda_h.cuMemAllocHost_v2(out, bytes), "cuMemAllocHost_v2(" + bytes + " bytes of paged state)");
            MemorySegment block = out.get(ValueLayout.ADDRESS, 0).reinterpret(bytes);
            block.fill((byte) 0);
            blocks.add(block);
            firstPage.add(slowPages);
        }
        slowPages = pages;
    }

    /** The pinned host memory of slow page {@code page}. */
    private MemorySegment slowPage(int page) {
        int b = blocks.size() - 1;
        while (firstPage.get(b) > page) {
            b--;
        }
        return blocks.get(b).asSlice((page - firstPage.get(b)) * pageBytes, pageBytes);
    }

    private long slot(int slot) {
        return fast.deviceAddress() + slot * pageBytes;
    }

    @Override
    public void swap(int slot, int out, int in) {
        context.enter();
        check(cuda_h.cuEventRecord(used[slot], context.stream()), "cuEventRecord(slot used)");
        check(cuda_h.cuStreamWaitEvent(copyStream, used[slot], 0), "cuStreamWaitEvent(page copies)");
        if (out >= 0) {
            check(cuda_h.cuMemcpyDtoHAsync_v2(slowPage(out), slot(slot), pageBytes, copyStream), "cuMemcpyDtoHAsync_v2(page out)");
        }
        check(cuda_h.cuMemcpyHtoDAsync_v2(slot(slot), slowPage(in), pageBytes, copyStream), "cuMemcpyHtoDAsync_v2(page in)");
        check(cuda_h.cuEventRecord(arrived[slot], copyStream), "cuEventRecord(page arrived)");
    }

    @Override
    public void await(int slot) {
        context.enter();
        check(cuda_h.cuStreamWaitEvent(context.stream(), arrived[slot], 0), "cuStreamWaitEvent(page arrived)");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        context.enter();
        check(cuda_h.cuStreamSynchronize(copyStream), "cuStreamSynchronize(page copies)");
        context.synchronize();
        for (int s = 0; s < used.length; s++) {
            check(cuda_h.cuEventDestroy_v2(used[s]), "cuEventDestroy_v2");
            check(cuda_h.cuEventDestroy_v2(arrived[s]), "cuEventDestroy_v2");
        }
        check(cuda_h.cuStreamDestroy_v2(copyStream), "cuStreamDestroy_v2(page copies)");
        for (MemorySegment block : blocks) {
            check(cuda_h.cuMemFreeHost(block), "cuMemFreeHost");
        }
        blocks.clear();
        fast.release();
    }
}
