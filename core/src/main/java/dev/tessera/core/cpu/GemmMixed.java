package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = beta*C + op(A) · op(B) with A F32 and B a frozen BF16 or F16 weight: B is widened to F32 a
 * strip of columns of op(B) at a time into a per-thread buffer and multiplied there by
 * {@link Gemm}, so the weight is never held in F32 whole. Widening is exact and C's columns are
 * independent, so the result equals {@link Gemm#sgemm} on an F32 copy of B.
 *
 * <pre>{@code
 * // y[m, out] = x[m, in] · W[out, in]^T with W stored BF16
 * GemmMixed.gemm(false, true, m, out, in, x, 0, in, w, DType.BF16, 0, in, 0f, y, 0, out);
 * }</pre>
 */
public final class GemmMixed {
    /** Floats in one widened strip (8 MiB): big enough for whole GEMM panels, small beside any weight. */
    private static final long STRIP_FLOATS = 2L << 20;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    /** As many shorts as IS has ints, in half the bits. */
    private static final VectorSpecies<Short> SS = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, IS.vectorBitSize() / 2)));
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<MemorySegment[]> STRIP = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    private GemmMixed() {}

    /**
     * As {@link Gemm#sgemmBatched} with B of dtype {@code bType} (BF16 or F16); offsets, leading
     * dimensions and strides in elements of each operand.
     */
    public static void gemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOffset, long lda, long strideA,
            MemorySegment b, DType bType, long bOffset, long ldb, long strideB,
            float beta, MemorySegment c, long cOffset, long ldc, long strideC) {
        if (bType != DType.BF16 && bType != DType.F16) {
            throw new IllegalArgumentException("mixed GEMM: B must be BF16 or F16, got " + bType);
        }
        if (m == 0 || n == 0) {
            return;
        }
        int cols = (int) Math.max(1, Math.min(n, STRIP_FLOATS / Math.max(1, k)));
        if (cols < n && cols > Gemm.NR) {
            cols = cols / Gemm.NR * Gemm.NR; // whole register panels per strip
        }
        MemorySegment strip = strip((long) cols * Math.max(1, k));
        for (int t = 0; t < batch; t++) {
            long bo = bOffset + t * strideB;
            for (int j0 = 0; j0 < n; j0 += cols) {
                int nc = Math.min(cols, n - j0);
                if (transB) {
                    // op(B)[:, j0:j0+nc] = rows j0.. of the stored [n, k]: a [nc, k] strip, used transposed
                    widenRows(b, bType, bo + (long) j0 * ldb, ldb, nc, k, strip);
                    Gemm.sgemm(transA, true, m, nc, k, a, aOffset + t * strideA, lda, strip, 0, Math.max(1, k),
                            beta, c, cOffset + t * strideC + j0, ldc);
                } else {
                    // columns j0.. of the stored [k, n]: a [k, nc] strip
                    widenRows(b, bType, bo + j0, ldb, k, nc, strip);
                    Gemm.sgemm(transA, false, m, nc, k, a, aOffset + t * strideA, lda, strip, 0, nc,
                            beta, c, cOffset + t * strideC + j0, ldc);
                }
            }
        }
    }

    private static MemorySegment strip(long floats) {
        MemorySegment[] holder = STRIP.get();
        if (holder[0] == null || holder[0].byteSize() < floats * Float.BYTES) {
            holder[0] = Arena.ofAuto().allocate(Math.max(floats, 1) * Float.BYTES, 64);
        }
        return holder[0];
    }

    /** dst[r, 0:cols] (contiguous) = widen(src[offset + r*ld + 0:cols]) for r < rows, in parallel over rows. */
    static void widenRows(MemorySegment src, DType type, long offset, long ld, int rows, int cols, MemorySegment dst) {
        long grain = Math.max(1, (1 << 16) / Math.max(1, cols));
        Parallel.forRange(rows, grain, (from, to) -> {
            for (long r = from; r < to; r++) {
                widen(src, type, (offset + r * ld) * 2, dst, r * cols * Float.BYTES, cols);
            }
        });
    }

    /** n 16-bit floats from byte {@code from} of src to F32 at byte {@code to} of dst, in parallel over slices. */
    static void widenParallel(MemorySegment src, DType type, long from, MemorySegment dst, long to, long n) {
        final long slice = 1 << 16;
        Parallel.forRange((n + slice - 1) / slice, 4, (a, b) -> {
            for (long s = a; s < b; s++) {
                long start = s * slice;
                widen(src, type, from + 2 * start, dst, to + 4 * start, (int) Math.min(slice, n - start));
            }
        });
    }

    /** n 16-bit floats from byte {@code from} of src to F32 at byte {@code to} of dst. */
    static void widen(MemorySegment src, DType type, long from, MemorySegment dst, long to, int n) {
        int i = 0;
        if (type == DType.BF16) {
            int lanes = IS.length();
            for (; i + lanes <= n; i += lanes) {
                // BF16 is the top half of an F32: zero- or sign-extend, then shift into place
                IntVector bits = (IntVector) ShortVector.fromMemorySegment(SS, src, from + 2L * i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.S2I, IS, 0);
                bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        .intoMemorySegment(dst, to + 4L * i, ByteOrder.nativeOrder());
            }
            for (; i < n; i++) {
                dst.set(F32, to + 4L * i, Float.intBitsToFloat((src.get(U16, from + 2L * i) & 0xFFFF) << 16));
            }
        } else {
            for (; i < n; i++) {
                dst.set(F32, to + 4L * i, Float.float16ToFloat(src.get(U16, from + 2L * i)));
            }
        }
    }
}
