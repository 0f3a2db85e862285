package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;

/** Argument and bounds checks shared by {@link Gemm} and {@link ReferenceGemm}, done once per call. */
final class GemmChecks {
    private GemmChecks() {}

    static void check(int batch, boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOffset, long lda, long strideA,
            MemorySegment b, long bOffset, long ldb, long strideB,
            MemorySegment c, long cOffset, long ldc, long strideC) {
        if (batch < 0 || m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm sizes must be >= 0, got batch=" + batch
                    + " m=" + m + " n=" + n + " k=" + k);
        }
        // Stored shapes: A is [m,k] or [k,m] when transposed, B is [k,n] or [n,k], C is [m,n].
        operand("A", a, aOffset, lda, strideA, batch, transA ? k : m, transA ? m : k);
        operand("B", b, bOffset, ldb, strideB, batch, transB ? n : k, transB ? k : n);
        operand("C", c, cOffset, ldc, strideC, batch, m, n);
        if (batch > 1 && strideC == 0 && m > 0 && n > 0) {
            throw new IllegalArgumentException("gemm: strideC is 0 with batch " + batch
                    + ", so every product would be written to the same C");
        }
    }

    private static void operand(String name, MemorySegment s, long offset, long ld, long stride,
            int batch, int rows, int cols) {
        if (s == null) {
            throw new IllegalArgumentException("gemm: segment " + name + " is null");
        }
        if (offset < 0 || stride < 0) {
            throw new IllegalArgumentException("gemm: " + name + " offset and stride must be >= 0, got offset="
                    + offset + " stride=" + stride);
        }
        if (rows > 1 && ld < cols) {
            throw new IllegalArgumentException("gemm: leading dimension of " + name + " is " + ld
                    + ", smaller than its row length " + cols + " (stored " + rows + "x" + cols + ")");
        }
        if (batch == 0 || rows == 0 || cols == 0) {
            return;
        }
        long endFloats;
        try {
            endFloats = Math.addExact(Math.addExact(offset, Math.multiplyExact((long) batch - 1, stride)),
                    Math.addExact(Math.multiplyExact((long) rows - 1, ld), cols));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("gemm: extent of " + name + " overflows a long");
        }
        long have = s.byteSize() / Float.BYTES;
        if (endFloats > have) {
            throw new IllegalArgumentException("gemm: segment " + name + " holds " + have + " floats but "
                    + endFloats + " are needed (stored " + rows + "x" + cols + ", ld " + ld + ", offset "
                    + offset + (batch > 1 ? ", batch " + batch + " x stride " + stride : "") + ")");
        }
    }
}
