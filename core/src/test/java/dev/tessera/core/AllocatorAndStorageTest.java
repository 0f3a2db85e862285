package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The caching allocator, storage and scopes: reuse, release, refusal and exact byte counts. */
class AllocatorAndStorageTest {

    @Test
    void sizeClassesAreMultiplesOf64UpTo4KiBThenEighthsOfAPowerOfTwo() {
        long[][] cases = {
            {0, 64}, {1, 64}, {64, 64}, {65, 128}, {127, 128}, {4095, 4096}, {4096, 4096},
            {4097, 4608}, {4608, 4608}, {4609, 5120}, {8191, 8192}, {8192, 8192}, {8193, 9216},
            {1 << 20, 1 << 20}, {(1 << 20) + 1, (1 << 20) + (1 << 17)},
        };
        for (long[] c : cases) {
            assertEquals(c[1], CachingAllocator.sizeClass(c[0]), "sizeClass(" + c[0] + ")");
        }
    }

    @Test
    void aBlockIsAlignedSizedAsAskedAndCountedInSizeClassUnits() {
        CachingAllocator allocator = new CachingAllocator();
        MemorySegment s = allocator.allocate(100);
        assertEquals(100, s.byteSize());
        assertEquals(0, s.address() % CachingAllocator.ALIGNMENT);
        assertEquals(128, allocator.liveBytes());
        assertEquals(0, allocator.cachedBytes());
        MemorySegment big = allocator.allocate(5000);
        assertEquals(128 + 5120, allocator.liveBytes());
        assertEquals(128 + 5120, allocator.peakLiveBytes());
        allocator.free(big);
        allocator.free(s);
        assertEquals(0, allocator.liveBytes());
        assertEquals(128 + 5120, allocator.cachedBytes());
        assertEquals(128 + 5120, allocator.peakLiveBytes(), "the peak stays until reset");
        allocator.resetPeak();
        assertEquals(0, allocator.peakLiveBytes());
    }

    @Test
    void aFreedBlockIsReusedForAnySizeOfItsClassAndOnlyForThatClass() {
        CachingAllocator allocator = new CachingAllocator();
        MemorySegment first = allocator.allocate(1000);
        long address = first.address();
        allocator.free(first);
        MemorySegment sameClass = allocator.allocate(970);
        assertEquals(address, sameClass.address(), "970 and 1000 bytes share the 1024-byte class");
        assertEquals(970, sameClass.byteSize());
        assertEquals(1024, allocator.liveBytes());
        assertEquals(0, allocator.cachedBytes());
        allocator.free(sameClass);
        MemorySegment otherClass = allocator.allocate(2000);
        assertNotEquals(address, otherClass.address());
        assertEquals(1024, allocator.cachedBytes(), "the 1024-byte block waits for its own class");
        assertEquals(2048, allocator.liveBytes());
    }

    @Test
    void freedBlocksOfAClassAreReusedMostRecentFirst() {
        CachingAllocator allocator = new CachingAllocator();
        MemorySegment a = allocator.allocate(256), b = allocator.allocate(256);
        allocator.free(a);
        allocator.free(b);
        assertEquals(b.address(), allocator.allocate(256).address());
        assertEquals(a.address(), allocator.allocate(256).address());
        assertEquals(512, allocator.liveBytes());
        assertEquals(0, allocator.cachedBytes());
    }

    @Test
    void freeingTwiceOrFreeingForeignMemoryIsRefused() {
        CachingAllocator allocator = new CachingAllocator();
        MemorySegment s = allocator.allocate(300);
        allocator.free(s);
        var twice = assertThrows(IllegalStateException.class, () -> allocator.free(s));
        assertEquals("freeing a block that is already free", twice.getMessage());
        assertEquals(0, allocator.liveBytes(), "the refused free changed no count");
        assertEquals(320, allocator.cachedBytes());
        // Handed out once again after the refusal, and only once.
        MemorySegment again = allocator.allocate(300);
        assertEquals(s.address(), again.address());
        assertNotEquals(again.address(), allocator.allocate(300).address());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment foreign = arena.allocate(300, 64);
            var e = assertThrows(IllegalStateException.class, () -> allocator.free(foreign));
            assertEquals("freeing memory this allocator did not hand out", e.getMessage());
        }
    }

    @Test
    void anEmptyBlockIsAllowedAndTakesTheSmallestClass() {
        CachingAllocator allocator = new CachingAllocator();
        MemorySegment empty = allocator.allocate(0);
        assertEquals(0, empty.byteSize());
        assertEquals(64, allocator.liveBytes());
    }

    @Test
    void deviceStorageMadeInAScopeIsFreedWhenTheScopeCloses() {
        List<Long> freed = new ArrayList<>();
        try (Scope scope = Scope.open()) {
            Storage.deviceMemory(Device.cuda(0), 0x1000L, 64, freed::add);
        }
        assertEquals(List.of(0x1000L), freed);
    }

    @Test
    void negativeSizesAreRefused() {
        var e = assertThrows(TesseraException.class, () -> new CachingAllocator().allocate(-1));
        assertEquals("cannot allocate a negative byte count: -1", e.getMessage());
    }

    @Test
    void releasingTheCacheReturnsFreeBlocksAndKeepsLiveOnes() {
        CachingAllocator allocator = new CachingAllocator();
        MemorySegment live = allocator.allocate(64);
        MemorySegment freed = allocator.allocate(64);
        allocator.free(freed);
        allocator.releaseCached();
        assertEquals(0, allocator.cachedBytes());
        assertEquals(64, allocator.liveBytes());
        live.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 7);
        assertEquals(7, live.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0), "a live block stays usable");
        MemorySegment next = allocator.allocate(64);
        assertEquals(128, allocator.liveBytes());
        allocator.free(next);
        allocator.free(live);
        assertEquals(128, allocator.cachedBytes());
    }

    @Test
    void storageReleasesOnceAndFailsLoudlyAfterwards() {
        CpuBackend backend = new CpuBackend();
        Storage s = backend.allocate(1000);
        assertEquals(1000, s.byteSize());
        assertEquals(1000, s.segment().byteSize());
        assertEquals(Device.CPU, s.device());
        assertEquals(1024, backend.liveBytes());
        assertFalse(s.isReleased());
        s.release();
        assertTrue(s.isReleased());
        assertEquals(0, backend.liveBytes());
        s.release();
        assertEquals(0, backend.liveBytes(), "a second release is a no-op");
        assertEquals(1024, backend.allocator().cachedBytes(), "and does not list the block twice");
        var e = assertThrows(TesseraException.class, s::segment);
        assertEquals("tensor storage used after its scope closed (keep() it to use it longer)", e.getMessage());
        assertThrows(TesseraException.class, s::deviceAddress);
        var cpu = assertThrows(IllegalStateException.class, () -> backend.allocate(8).deviceAddress());
        assertEquals("CPU storage has no device address", cpu.getMessage());
    }

    @Test
    void deviceStorageHandsItsAddressBackOnceAndHasNoHostMemory() {
        List<Long> freed = new ArrayList<>();
        Device gpu = Device.cuda(1);
        Storage s = Storage.deviceMemory(gpu, 0xABC000L, 4096, freed::add);
        assertEquals(gpu, s.device());
        assertEquals(4096, s.byteSize());
        assertEquals(0xABC000L, s.deviceAddress());
        var e = assertThrows(TesseraException.class, s::segment);
        assertEquals("storage on cuda:1 has no host memory; copy the tensor to the CPU first", e.getMessage());
        s.release();
        s.release();
        assertEquals(List.of(0xABC000L), freed);
        assertThrows(TesseraException.class, s::deviceAddress);
        assertThrows(IllegalArgumentException.class, () -> Storage.deviceMemory(Device.CPU, 1, 1, a -> {}));
    }

    @Test
    void closingAScopeReleasesWhatItAllocatedOfEveryDtypeToExactlyTheStartingBytes() {
        CpuBackend backend = (CpuBackend) Backends.cpu();
        long before = backend.liveBytes();
        Tensor outside = Tensor.zeros(3);
        long withOutside = backend.liveBytes();
        assertEquals(before + 64, withOutside);
        List<Tensor> inside = new ArrayList<>();
        try (Scope scope = Scope.open()) {
            for (DType dtype : DType.values()) {
                inside.add(Tensor.empty(dtype, 5, 7));    // 35 elements: 35..280 bytes, all in 64..320 classes
            }
            long expected = 0;
            for (DType dtype : DType.values()) {
                expected += CachingAllocator.sizeClass(35L * dtype.byteSize());
            }
            assertEquals(withOutside + expected, backend.liveBytes());
        }
        assertEquals(withOutside, backend.liveBytes());
        for (Tensor t : inside) {
            assertTrue(t.storage().isReleased(), t.dtype() + " tensor released");
            assertThrows(TesseraException.class, () -> t.storage().segment());
        }
        assertFalse(outside.storage().isReleased(), "a tensor made outside any scope is unowned");
        outside.release();
        assertEquals(before, backend.liveBytes());
    }

    @Test
    void blocksFreedByAScopeAreReusedByTheNextStepWhateverTheDtype() {
        CpuBackend backend = (CpuBackend) Backends.cpu();
        long address;
        try (Scope scope = Scope.open()) {
            address = Tensor.empty(DType.F32, 256).storage().segment().address();  // 1024 bytes
        }
        long cachedBefore = backend.allocator().cachedBytes();
        try (Scope scope = Scope.open()) {
            Tensor longs = Tensor.empty(DType.I64, 128);                           // 1024 bytes too
            assertEquals(address, longs.storage().segment().address());
            assertEquals(cachedBefore - 1024, backend.allocator().cachedBytes());
        }
    }

    @Test
    void keptTensorsMoveToTheEnclosingScopeAndOutOfTheOutermost() {
        CpuBackend backend = (CpuBackend) Backends.cpu();
        long before = backend.liveBytes();
        Tensor toParent;
        Tensor unowned;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                toParent = inner.keep(Tensor.zeros(4));
                Tensor dropped = Tensor.zeros(4);
                inner.close();
                assertTrue(dropped.storage().isReleased());
                assertFalse(toParent.storage().isReleased());
            }
            unowned = outer.keep(Tensor.ones(2));
        }
        assertTrue(toParent.storage().isReleased(), "the kept tensor went with the outer scope");
        assertFalse(unowned.storage().isReleased(), "kept at the outermost scope: unowned");
        assertArrayEquals(new float[] {1, 1}, unowned.toFloatArray());
        unowned.release();
        assertEquals(before, backend.liveBytes());
    }

    @Test
    void unownedAllocationsOutliveTheScopeAroundThem() {
        Tensor t;
        try (Scope scope = Scope.open()) {
            t = Scope.unowned(() -> Tensor.zeros(2));
            Tensor owned = Tensor.zeros(2);
            scope.close();
            assertTrue(owned.storage().isReleased(), "the scope is restored after unowned()");
        }
        assertFalse(t.storage().isReleased());
        t.release();
    }

    @Test
    void scopesMustCloseInnermostFirst() throws Exception {
        // On a thread of its own: a scope closed out of order leaves that thread's scopes unusable.
        Thread thread = new Thread(() -> {
            Scope outer = Scope.open();
            Scope inner = Scope.open();
            var e = assertThrows(IllegalStateException.class, outer::close);
            assertEquals("scopes closed out of order", e.getMessage());
        });
        List<Throwable> failures = new ArrayList<>();
        thread.setUncaughtExceptionHandler((t, e) -> failures.add(e));
        thread.start();
        thread.join();
        assertEquals(List.of(), failures);
    }

    @Test
    void closingAScopeTwiceReleasesOnce() {
        CpuBackend backend = (CpuBackend) Backends.cpu();
        long before = backend.liveBytes();
        Scope scope = Scope.open();
        Tensor.zeros(10);
        scope.close();
        scope.close();
        assertEquals(before, backend.liveBytes());
        Tensor t = Tensor.zeros(1);
        assertFalse(t.storage().isReleased(), "no scope is left open");
        t.release();
    }
}
