package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.check;

import dev.tessera.cuda.ffi.cuda_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Launches a {@link Kernel} on the context's stream with {@code cuLaunchKernel}. Arguments are
 * checked against the kernel's parameter list (count and Java type) before anything reaches the
 * driver, then laid out one slot per parameter; the driver copies them during the call.
 */
final class KernelLauncher {
    static final int THREADS = 256;
    /** Grid-stride kernels never need more blocks than this to fill a GPU. */
    static final long MAX_BLOCKS = 1L << 16;

    private final CudaContext context;
    private final KernelLoader loader;

    KernelLauncher(CudaContext context, KernelLoader loader) {
        this.context = context;
        this.loader = loader;
    }

    /** A one-dimensional grid-stride launch over {@code n} elements. */
    void elementwise(Kernel kernel, long n, Object... args) {
        if (n <= 0) {
            return;
        }
        long blocks = Math.min(MAX_BLOCKS, (n + THREADS - 1) / THREADS);
        launch(kernel, blocks, THREADS, 1, args);
    }

    /** {@code blocks} blocks of {@code threadsX} x {@code threadsY} threads. */
    void launch(Kernel kernel, long blocks, int threadsX, int threadsY, Object... args) {
        if (blocks <= 0) {
            return;
        }
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(kernel.entry + ": grid of " + blocks + " blocks exceeds the driver's limit");
        }
        checkArguments(kernel, args);
        context.enter();
        MemorySegment function = loader.function(kernel);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointers = arena.allocate(ValueLayout.ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                pointers.setAtIndex(ValueLayout.ADDRESS, i, slot(arena, kernel.params.get(i), args[i]));
            }
            check(cuda_h.cuLaunchKernel(function, (int) blocks, 1, 1, threadsX, threadsY, 1, 0, context.stream(),
                    pointers, MemorySegment.NULL), "cuLaunchKernel(" + kernel.entry + ")");
        }
    }

    static void checkArguments(Kernel kernel, Object[] args) {
        if (args.length != kernel.params.size()) {
            throw new IllegalArgumentException(kernel.entry + " takes " + kernel.params.size() + " arguments, got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            Kernel.Param p = kernel.params.get(i);
            Object a = args[i];
            boolean ok = switch (p) {
                case PTR, I64 -> a instanceof Long;
                case I32 -> a instanceof Integer;
                case F32 -> a instanceof Float;
                case DIMS -> a instanceof long[] v && v.length == StridedLayout.MAX_DIMS + 1;
                case STRIDES -> a instanceof long[] v && v.length == StridedLayout.MAX_DIMS;
            };
            if (!ok) {
                throw new IllegalArgumentException(kernel.entry + " argument " + i + " must be " + p + ", got "
                        + (a == null ? "null" : a.getClass().getSimpleName()));
            }
        }
    }

    private static MemorySegment slot(Arena arena, Kernel.Param p, Object value) {
        MemorySegment s = arena.allocate(p.bytes, 8);
        switch (p) {
            case PTR, I64 -> s.set(ValueLayout.JAVA_LONG, 0, (Long) value);
            case I32 -> s.set(ValueLayout.JAVA_INT, 0, (Integer) value);
            case F32 -> s.set(ValueLayout.JAVA_FLOAT, 0, (Float) value);
            case DIMS, STRIDES -> MemorySegment.copy((long[]) value, 0, s, ValueLayout.JAVA_LONG, 0, ((long[]) value).length);
        }
        return s;
    }
}
