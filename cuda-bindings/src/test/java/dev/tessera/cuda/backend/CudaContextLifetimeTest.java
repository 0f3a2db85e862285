package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaLibraries;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the CUDA backend holds is released: a context's stream, cuBLAS handle, error word and its
 * hold on the primary context on close; a host staging buffer once the copy that reads it is known
 * complete (not before); and the kernels' shared-memory tiles and the host's launch sizes share
 * their numbers.
 */
class CudaContextLifetimeTest {
    private static final Device CUDA = Device.cuda(0);

    @BeforeEach
    void requireGpu() {
        assumeTrue(Backends.isAvailable(CUDA), () -> "no usable CUDA device: " + CudaDriver.get().failure());
    }

    @Test
    void closingAContextReleasesItsCublasHandleAndMemory() {
        CudaBackend gpu = (CudaBackend) Backends.of(CUDA);
        gpu.synchronize();
        long free = gpu.memoryInfo().freeBytes();
        CudaContext context = CudaContext.open(0, CudaDriver.get().driverVersion());
        context.cublas();
        context.synchronize();
        // the emulated device counts every allocation exactly; a GPU's free memory also moves with the driver's own use
        boolean exact = CudaLibraries.emulator().isPresent();
        assertTrue(!exact || context.memoryInfo().freeBytes() < free, "a context holds device memory (its error word)");
        context.close();
        assertTrue(context.isClosed());
        assertThrows(TesseraException.class, context::enter);
        context.close();   // idempotent
        long after = gpu.memoryInfo().freeBytes();
        assertTrue(exact ? after == free : Math.abs(after - free) <= 64L << 20,
                "the closed context's memory went back to the driver: " + free + " free before, " + after + " after");
        // the process's own backend is untouched
        try (var scope = Scope.open()) {
            assertArrayEquals(new float[] {1, 2}, Tensor.of(new float[] {1, 2}, 2).to(CUDA).toFloatArray());
        }
    }

    @Test
    void aStagingBufferLivesUntilTheCopyIsKnownComplete() {
        CudaBackend gpu = (CudaBackend) Backends.of(CUDA);
        try (var scope = Scope.open()) {
            Tensor src = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);   // not contiguous: staged
            Tensor dst = Tensor.empty(DType.F32, CUDA, 3, 2);
            gpu.synchronize();
            long before = Backends.cpuAllocator().liveBytes();
            gpu.copy(src, dst);
            assertTrue(Backends.cpuAllocator().liveBytes() > before, "the staging buffer is still held");
            gpu.synchronize();
            assertEquals(before, Backends.cpuAllocator().liveBytes(), "released once the stream ran the copy");
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, dst.toFloatArray());
        }
    }

    @Test
    void launchSizesComeFromTheKernelsDefinitions() {
        String common = "#define TS_COLUMN_TILE 32\n#define TS_OTHER 7\n";
        assertEquals(32, KernelConstants.define(common, "TS_COLUMN_TILE"));
        assertThrows(IllegalStateException.class, () -> KernelConstants.define(common, "TS_MISSING"));
        assertTrue(KernelConstants.COLUMN_TILE > 0 && KernelConstants.COLUMN_ROWS > 0);
        assertTrue(KernelConstants.MAX_ROW_THREADS % 32 == 0 && CudaBackend.rowThreads(1 << 20) == KernelConstants.MAX_ROW_THREADS);
        assertEquals(KernelConstants.MAX_QUANT_BLOCK, 4096);
    }
}
