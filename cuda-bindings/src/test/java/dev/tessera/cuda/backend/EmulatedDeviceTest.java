package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.Backends;
import dev.tessera.core.Close;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaLibraries;
import dev.tessera.cuda.ffi.cuda_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the emulated CUDA device ({@code cuda-bindings/emulator}) checks that a plain mock would
 * not: stream order (a host read that skips a synchronisation sees old bytes), device memory as
 * an address space of its own (double frees, copies past an allocation, host pointers handed to
 * kernels are errors), PTX and NVRTC sources checked against the kernels it was built from, and
 * that the backend's work returns every device byte. Runs only on the emulated device.
 */
class EmulatedDeviceTest {
    private static final Device CUDA = Device.cuda(0);
    private static CudaBackend gpu;

    @BeforeAll
    static void findEmulator() {
        if (CudaLibraries.emulator().isPresent() && Backends.isAvailable(CUDA)) {
            gpu = (CudaBackend) Backends.of(CUDA);
        }
    }

    /** Makes the backend's context current on this thread, so the test may call the driver directly. */
    @BeforeEach
    void requireEmulator() {
        assumeTrue(gpu != null, () -> "runs on the emulated CUDA device only (-Dtessera.cuda.emulator=PATH): "
                + CudaDriver.get().failure());
        gpu.synchronize();
    }

    private static long allocate(Arena arena, long bytes) {
        MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
        assertEquals(0, cuda_h.cuMemAlloc_v2(out, bytes));
        return out.get(ValueLayout.JAVA_LONG, 0);
    }

    @Test
    void aHostReadBeforeTheStreamSynchronisesSeesTheOldBytes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment streamOut = arena.allocate(ValueLayout.ADDRESS);
            assertEquals(0, cuda_h.cuStreamCreate(streamOut, 0));
            MemorySegment stream = streamOut.get(ValueLayout.ADDRESS, 0);
            long d = allocate(arena, 64);
            assertEquals(0, cuda_h.cuMemsetD8_v2(d, (byte) 7, 64));
            MemorySegment host = arena.allocate(64);
            host.fill((byte) 1);
            assertEquals(0, cuda_h.cuMemsetD8Async(d, (byte) 9, 64, stream));
            assertEquals(0, cuda_h.cuMemcpyDtoHAsync_v2(host, d, 64, stream));
            assertEquals(1, host.get(ValueLayout.JAVA_BYTE, 63), "the copy has not run before the host waits for it");
            assertEquals(0, cuda_h.cuStreamSynchronize(stream));
            assertEquals(9, host.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(9, host.get(ValueLayout.JAVA_BYTE, 63));
            assertEquals(0, cuda_h.cuMemFree_v2(d));
            assertEquals(0, cuda_h.cuStreamDestroy_v2(stream));
        }
    }

    /** Fails when a copy to the host returns before waiting for the stream (the emulator runs work only then). */
    @Test
    void aHostReadThroughTheBackendSeesTheWorkEnqueuedBeforeIt() {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, -2, 3, 0.5f, 7}, 5);
            Tensor y = x.to(CUDA).mul(2f).add(1f).exp().log();
            Close.assertClose(new float[] {3, -3, 7, 2, 15}, y.toFloatArray(), 1e-5, 1e-5, "exp(log(2x + 1))");
        }
    }

    /** The context is current per OS thread (the emulator refuses calls without it, as the driver does). */
    @Test
    void theBackendWorksFromNewPlatformAndVirtualThreads() throws Exception {
        for (Thread.Builder builder : List.of(Thread.ofPlatform(), Thread.ofVirtual())) {
            float[][] result = new float[1][];
            Throwable[] failure = new Throwable[1];
            Thread t = builder.start(() -> {
                try (Scope scope = Scope.open()) {
                    Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).to(CUDA);
                    result[0] = a.matmul(a).softmax(-1).toFloatArray();
                } catch (Throwable e) {
                    failure[0] = e;
                }
            });
            t.join();
            assertEquals(null, failure[0], () -> "on " + t + ": " + failure[0]);
            Close.assertClose(new float[] {0.0474259f, 0.9525741f, 0.0009111f, 0.9990889f}, result[0], 1e-6, 1e-4, t.toString());
        }
    }

    @Test
    void freeingTwiceOrFreeingInsideABlockIsAnError() {
        try (Arena arena = Arena.ofConfined()) {
            long d = allocate(arena, 1024);
            assertEquals(cuda_h.CUDA_ERROR_INVALID_VALUE(), cuda_h.cuMemFree_v2(d + 256));
            assertEquals(0, cuda_h.cuMemFree_v2(d));
            assertEquals(cuda_h.CUDA_ERROR_INVALID_VALUE(), cuda_h.cuMemFree_v2(d));
        }
    }

    @Test
    void copiesThatLeaveTheirAllocationAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            long a = allocate(arena, 100), b = allocate(arena, 50);
            MemorySegment host = arena.allocate(200);
            int invalid = cuda_h.CUDA_ERROR_INVALID_VALUE();
            assertEquals(0, cuda_h.cuMemcpyHtoD_v2(a, host, 100));
            assertEquals(invalid, cuda_h.cuMemcpyHtoD_v2(a, host, 101));
            assertEquals(invalid, cuda_h.cuMemcpyDtoH_v2(host, a + 60, 41));
            assertEquals(invalid, cuda_h.cuMemcpyDtoD_v2(b, a, 100));
            assertEquals(invalid, cuda_h.cuMemsetD8_v2(b - 8, (byte) 0, 8));
            assertEquals(invalid, cuda_h.cuMemcpyDtoH_v2(MemorySegment.ofAddress(b), a, 10), "a device address as the host side");
            assertEquals(0, cuda_h.cuMemFree_v2(a));
            assertEquals(invalid, cuda_h.cuMemcpyDtoH_v2(host, a, 4), "a freed block");
            assertEquals(0, cuda_h.cuMemFree_v2(b));
        }
    }

    /** Loads nf4.cu through NVRTC (the emulator's resolves it to the compiled kernels) and launches dequant_4bit. */
    @Test
    void kernelsFromNvrtcRunAndRefuseAHostPointerAtLaunch() {
        try (Arena arena = Arena.ofConfined()) {
            String ptx = KernelLoader.compileForDevice("nf4", gpu.computeCapability());
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            assertEquals(0, cuda_h.cuModuleLoadData(out, arena.allocateFrom(ptx)));
            MemorySegment module = out.get(ValueLayout.ADDRESS, 0);
            assertEquals(500 /* CUDA_ERROR_NOT_FOUND */, cuda_h.cuModuleGetFunction(out, module, arena.allocateFrom("softmax_rows")));
            assertEquals(0, cuda_h.cuModuleGetFunction(out, module, arena.allocateFrom("dequant_4bit")));
            MemorySegment function = out.get(ValueLayout.ADDRESS, 0);

            int n = 5;   // element i is code[nibble i] * absmax[i / 2]
            long packed = allocate(arena, 3), absmax = allocate(arena, 12), code = allocate(arena, 64), result = allocate(arena, 20);
            float[] codeBook = new float[16];
            for (int i = 0; i < 16; i++) {
                codeBook[i] = i - 8;
            }
            assertEquals(0, cuda_h.cuMemcpyHtoD_v2(packed, arena.allocateFrom(ValueLayout.JAVA_BYTE, (byte) 0x1F, (byte) 0x8A, (byte) 0x30), 3));
            assertEquals(0, cuda_h.cuMemcpyHtoD_v2(absmax, arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f, 2f, 0.5f), 12));
            assertEquals(0, cuda_h.cuMemcpyHtoD_v2(code, arena.allocateFrom(ValueLayout.JAVA_FLOAT, codeBook), 64));
            MemorySegment hostBuffer = arena.allocate(64);
            for (long pointer : new long[] {hostBuffer.address(), packed}) {
                MemorySegment params = arena.allocate(ValueLayout.ADDRESS, 6);
                long[] pointers = {pointer, absmax, code, result};
                for (int i = 0; i < 4; i++) {
                    params.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(ValueLayout.JAVA_LONG, pointers[i]));
                }
                params.setAtIndex(ValueLayout.ADDRESS, 4, arena.allocateFrom(ValueLayout.JAVA_LONG, (long) n));
                params.setAtIndex(ValueLayout.ADDRESS, 5, arena.allocateFrom(ValueLayout.JAVA_INT, 2));
                int status = cuda_h.cuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 0, MemorySegment.NULL, params, MemorySegment.NULL);
                assertEquals(pointer == packed ? 0 : cuda_h.CUDA_ERROR_INVALID_VALUE(), status, "launch with " + Long.toHexString(pointer));
            }
            MemorySegment values = arena.allocate(20);
            assertEquals(0, cuda_h.cuMemcpyDtoH_v2(values, result, 20));
            // nibbles 1, F, 8, A, 3 -> codes -7, 7, 0, 2, -5 times absmax 1, 1, 2, 2, 0.5
            Close.assertClose(new float[] {-7, 7, 0, 4, -2.5f}, values.toArray(ValueLayout.JAVA_FLOAT), 0, 0, "dequant_4bit");
            for (long d : new long[] {packed, absmax, code, result}) {
                assertEquals(0, cuda_h.cuMemFree_v2(d));
            }
        }
    }

    /** fill_bits told to write 64 elements more than its block holds: the guard page after the block stops it. */
    @Test
    void aKernelThatWritesPastItsBlockFailsWithAnIllegalAddress() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            String ptx = KernelLoader.compileForDevice("elementwise", gpu.computeCapability());
            assertEquals(0, cuda_h.cuModuleLoadData(out, arena.allocateFrom(ptx)));
            assertEquals(0, cuda_h.cuModuleGetFunction(out, out.get(ValueLayout.ADDRESS, 0), arena.allocateFrom("fill_bits")));
            MemorySegment fillBits = out.get(ValueLayout.ADDRESS, 0);
            long d = allocate(arena, 4096);
            for (long n : new long[] {1024, 1024 + 64}) {
                MemorySegment params = arena.allocate(ValueLayout.ADDRESS, 4);
                params.setAtIndex(ValueLayout.ADDRESS, 0, arena.allocateFrom(ValueLayout.JAVA_LONG, d));
                params.setAtIndex(ValueLayout.ADDRESS, 1, arena.allocateFrom(ValueLayout.JAVA_INT, 4));
                params.setAtIndex(ValueLayout.ADDRESS, 2, arena.allocateFrom(ValueLayout.JAVA_LONG, 0x3f800000L));
                params.setAtIndex(ValueLayout.ADDRESS, 3, arena.allocateFrom(ValueLayout.JAVA_LONG, n));
                assertEquals(0, cuda_h.cuLaunchKernel(fillBits, 4, 1, 1, 256, 1, 1, 0, MemorySegment.NULL, params, MemorySegment.NULL));
                int illegalAddress = 700;   // CUDA_ERROR_ILLEGAL_ADDRESS, reported by the next synchronisation
                assertEquals(n == 1024 ? 0 : illegalAddress, cuda_h.cuCtxSynchronize(), "fill_bits over " + n + " floats");
            }
            assertEquals(0, cuda_h.cuCtxSynchronize(), "the emulator reports a fault once");
            assertEquals(0, cuda_h.cuMemFree_v2(d));
        }
    }

    @Test
    void nvrtcTakesOnlyThePackagedSourcesAndHeaders() {
        List<String> arch = List.of("--gpu-architecture=compute_90");
        String source = KernelLoader.source("softmax");
        Map<String, String> headers = KernelLoader.headers();
        assertTrue(NvrtcCompiler.compile("softmax.cu", source, headers, arch).contains(".entry softmax_rows("));
        TesseraException edited = assertThrows(TesseraException.class,
                () -> NvrtcCompiler.compile("softmax.cu", source.replace("1.0f / s", "2.0f / s"), headers, arch));
        assertTrue(edited.getMessage().contains("differs from the packaged softmax.cu"), edited.getMessage());
        TesseraException header = assertThrows(TesseraException.class, () -> NvrtcCompiler.compile("softmax.cu", source,
                Map.of("common.cuh", headers.get("common.cuh") + "\n#define EXTRA 1\n"), arch));
        assertTrue(header.getMessage().contains("header common.cuh differs"), header.getMessage());
        assertThrows(NvrtcCompiler.InvalidOption.class, () -> NvrtcCompiler.compile("softmax.cu", source, headers,
                List.of("--gpu-architecture=compute_99")));
    }

    @Test
    void ptxWhoseParametersDisagreeWithTheBuiltKernelsIsRefused() {
        String ptx = KernelLoader.compileForDevice("nf4", gpu.computeCapability());
        String wrong = ptx.replaceFirst("\\.u64 dequant_4bit_param_0", ".u32 dequant_4bit_param_0");
        assertTrue(!wrong.equals(ptx), "the PTX declares its first parameter as .u64");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            assertEquals(cuda_h.CUDA_ERROR_INVALID_PTX(), cuda_h.cuModuleLoadData(out, arena.allocateFrom(wrong)));
        }
    }

    @Test
    void anOutOfRangeTargetFailsAtTheNextSynchronisation() {
        try (Scope scope = Scope.open()) {
            Tensor logits = Tensor.zeros(DType.F32, CUDA, 2, 5);
            Tensor targets = Tensor.ofLongs(new long[] {1, 5}, 2).to(CUDA);
            Tensor loss = Tensor.zeros(DType.F32, CUDA, 2), lse = Tensor.zeros(DType.F32, CUDA, 2);
            gpu.crossEntropy(logits, targets, -100, loss, lse, 2, 5);
            TesseraException e = assertThrows(TesseraException.class, gpu::synchronize);
            assertEquals("crossEntropy: target 5 out of range for 5 classes", e.getMessage());   // the CPU's words
            gpu.synchronize();   // the word was reset
        }
    }

    /**
     * The fused head + loss on the device keeps its targets there (counted and checked by the
     * backend, not copied to the host) and equals the CPU's loss and gradients.
     */
    @Test
    void theFusedLossOnTheDeviceEqualsTheCpusAndReportsABadTargetAtTheSynchronisation() {
        Random r = new Random(11);
        float[] xs = new float[6 * 4], ws = new float[9 * 4];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < ws.length; i++) {
            ws[i] = (float) r.nextGaussian();
        }
        long[] targets = {3, -100, 8, 0, -100, 5};
        float[][] cpu = fusedLoss(Device.CPU, xs, ws, targets);
        float[][] dev = fusedLoss(CUDA, xs, ws, targets);
        String[] names = {"loss", "dx", "dw"};
        for (int i = 0; i < 3; i++) {
            Close.assertClose(cpu[i], dev[i], 1e-6, 1e-5, names[i]);
        }
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(xs, 6, 4).to(CUDA);
            Tensor w = Tensor.of(ws, 9, 4).to(CUDA);
            x.linearCrossEntropy(w, Tensor.ofLongs(new long[] {3, 9, 8, 0, 1, 5}, 6).to(CUDA));
            TesseraException e = assertThrows(TesseraException.class, gpu::synchronize);
            assertEquals("crossEntropy: target 9 out of range for 9 classes", e.getMessage());
            gpu.synchronize();
        }
    }

    private static float[][] fusedLoss(Device device, float[] xs, float[] ws, long[] targets) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(xs, 6, 4).to(device).requiresGrad(true);
            Tensor w = Tensor.of(ws, 9, 4).to(device).requiresGrad(true);
            Tensor loss = x.linearCrossEntropy(w, Tensor.ofLongs(targets, targets.length).to(device));
            loss.mul(0.5f).backward();
            return new float[][] {loss.toFloatArray(), x.grad().toFloatArray(), w.grad().toFloatArray()};
        }
    }

    /** Every block the backend took from the driver goes back: device memory returns to where it started. */
    @Test
    void trainingLikeWorkReturnsEveryDeviceByte() {
        gpu.releaseCached();
        long freeBefore = gpu.memoryInfo().freeBytes();
        long liveBefore = gpu.liveBytes();
        Random r = new Random(3);
        float[] w = new float[64 * 48];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        Tensor weight = Tensor.of(w, 64, 48).to(CUDA).requiresGrad(true);   // unowned, as a parameter
        for (int step = 0; step < 3; step++) {
            try (Scope scope = Scope.open()) {
                Tensor x = Tensor.of(w, 48, 64).to(CUDA);
                x.matmul(weight).softmax(-1).mul(x.matmul(weight)).sum().backward();
                assertEquals(64 * 48, weight.grad().toFloatArray().length);
            }
        }
        weight.grad().release();
        weight.release();
        assertEquals(liveBefore, gpu.liveBytes(), "tensors of the steps are all released");
        assertTrue(gpu.cachedBytes() > 0, "the allocator kept blocks for reuse");
        gpu.releaseCached();
        assertEquals(freeBefore, gpu.memoryInfo().freeBytes(), "the driver got every block back");
    }
}
