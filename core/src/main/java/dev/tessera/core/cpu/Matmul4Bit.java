package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Matrix products with a 4-bit weight {@code W [out, in]} that never hold W in full precision.
 * Products that {@link Gemm} would block and pack go to {@link Gemm4Bit}, which decodes W
 * straight into the packed panels of Gemm's micro-kernels. Otherwise (a few rows, a BF16 or F16
 * compute dtype) the forward product {@code y = x · Wᵀ} dequantizes a tile of whole output rows at a time into
 * a small per-thread buffer and multiplies it with {@link Gemm} (for a single row of x, each
 * output is a dot product with a row of W decoded in registers); the backward product
 * {@code dx = dy · W} dequantizes a panel of input columns at a time. Tiles go whole to the CPU
 * worker threads (the Gemm inside runs on that thread) and each writes its own columns of the
 * result, every element one dot product over the full k, so results are reproducible run to
 * run. {@link #dequantize} is the slow path's whole-matrix decode.
 */
final class Matmul4Bit {
    /** Floats per tile buffer: 1 MiB, about what a core's L2 holds. */
    private static final int TILE_FLOATS = Integer.getInteger("tessera.quant.tileFloats", 1 << 18);
    /** Weights per parallel chunk of a matrix-vector product. */
    private static final long GEMV_GRAIN = 1 << 16;
    /** The thinnest tile (rows or columns) unless the dimension itself is smaller. */
    private static final int MIN_TILE = 64;
    /** Tile heights and widths are multiples of this: whole 64-blocks, whole Gemm register tiles. */
    private static final int ALIGN = 64;
    private static final ThreadLocal<MemorySegment[]> SCRATCH = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    private Matmul4Bit() {}

    /**
     * A packed 4-bit weight, row-major {@code [out, in]}, decoded as
     * {@code round(code[q] * absmax, compute)}.
     */
    record Weight(MemorySegment packed, BlockScales scales, float[] code, int blocksize, int out, int in,
                  DType compute) {}

    // x (m, in), y (m, out): y = x · Wᵀ
    static void forward(Weight w, MemorySegment x, int m, MemorySegment y) {
        if (m == 0) {
            return;
        }
        if (m == 1) {
            // A matrix-vector product (token-by-token generation): each output is one dot
            // product with a row of W decoded in registers; nothing goes through a buffer.
            long grain = Math.max(1, GEMV_GRAIN / w.in);
            Parallel.forRange(w.out, grain, (from, to) -> {
                for (long r = from; r < to; r++) {
                    long start = r * w.in;
                    y.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r, Dequant4Vector.rangeDot(w.packed, w.scales, w.code,
                            w.blocksize, w.compute, start, start + w.in, x, 0));
                }
            });
            return;
        }
        if (Gemm4Bit.applies(w, m, w.out, w.in)) {
            Gemm4Bit.multiply(w, false, x, m, y);
            return;
        }
        boolean thin = Gemm.isThin(m, w.out, w.in);
        int rows = tileSize(w.out, w.in);
        int tiles = ceilDiv(w.out, rows);
        Parallel.forRange(tiles, 1, (from, to) -> {
            for (long t = from; t < to; t++) {
                int r0 = (int) t * rows;
                int r1 = Math.min(w.out, r0 + rows);
                MemorySegment tile = scratch((long) (r1 - r0) * w.in);
                decode(w, (long) r0 * w.in, (long) r1 * w.in, tile, 0);
                // y[:, r0:r1] = x · tileᵀ, tile (r1 - r0, in)
                if (thin) {
                    // As the whole product would go: a narrow last tile must not take another path.
                    GemmThin.multiply(false, true, m, r1 - r0, w.in, x, 0, w.in, tile, 0, w.in, 0f, y, r0, w.out);
                } else {
                    Gemm.sgemm(false, true, m, r1 - r0, w.in, x, 0, w.in, tile, 0, w.in, 0f, y, r0, w.out);
                }
            }
        });
    }

    // dy (m, out), dx (m, in): dx = dy · W
    static void backward(Weight w, MemorySegment dy, int m, MemorySegment dx) {
        if (m == 0) {
            return;
        }
        if (Gemm4Bit.applies(w, m, w.in, w.out)) {
            Gemm4Bit.multiply(w, true, dy, m, dx);
            return;
        }
        boolean thin = Gemm.isThin(m, w.in, w.out);
        int cols = tileSize(w.in, w.out);
        int panels = ceilDiv(w.in, cols);
        Parallel.forRange(panels, 1, (from, to) -> {
            for (long p = from; p < to; p++) {
                int c0 = (int) p * cols;
                int c1 = Math.min(w.in, c0 + cols);
                int width = c1 - c0;
                MemorySegment panel = scratch((long) w.out * width);
                Dequant4Vector.rowsToF32(w.packed, w.scales, w.code, w.blocksize, w.compute, c0, w.in, w.out, width,
                        panel, 0, width);
                // dx[:, c0:c1] = dy · panel, panel (out, width)
                if (thin) {
                    GemmThin.multiply(false, false, m, width, w.out, dy, 0, w.out, panel, 0, width, 0f, dx, c0, w.in);
                } else {
                    Gemm.sgemm(false, false, m, width, w.out, dy, 0, w.out, panel, 0, width, 0f, dx, c0, w.in);
                }
            }
        });
    }

    /** The whole weight, {@code [out, in]} F32, into {@code out} (4 * out * in bytes). */
    static void dequantize(Weight w, MemorySegment out) {
        long n = (long) w.out * w.in;
        long chunk = TILE_FLOATS;
        Parallel.forRange(ceilDiv(n, chunk), 1, (from, to) ->
                decode(w, from * chunk, Math.min(n, to * chunk), out, from * chunk));
    }

    private static void decode(Weight w, long from, long to, MemorySegment out, long outIndex) {
        Dequant4Vector.rangeToF32(w.packed, w.scales, w.code, w.blocksize, w.compute, from, to, out, outIndex);
    }

    /**
     * Rows (or columns) per tile along a dimension of {@code size} whose other dimension is
     * {@code other}: about {@link #TILE_FLOATS} per tile but at least {@link #MIN_TILE} (each
     * tile repacks the activations inside Gemm, so thin tiles cost), a tile count that the
     * threads share evenly, and a multiple of {@link #ALIGN} unless the dimension is smaller.
     */
    static int tileSize(int size, int other) {
        int threads = Parallel.threads();
        int t = Math.min(Math.max(MIN_TILE, TILE_FLOATS / other), Math.max(ALIGN, ceilDiv(size, threads)));
        int tiles = ceilDiv(size, t);
        tiles = ceilDiv(tiles, threads) * threads;
        t = ceilDiv(ceilDiv(size, tiles), ALIGN) * ALIGN;
        return Math.min(t, size);
    }

    /** This thread's scratch buffer of at least {@code floats} floats (grown, never shrunk). */
    private static MemorySegment scratch(long floats) {
        MemorySegment[] holder = SCRATCH.get();
        if (holder[0] == null || holder[0].byteSize() < floats * 4) {
            holder[0] = Arena.ofAuto().allocate(floats * 4, 64);
        }
        return holder[0];
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
