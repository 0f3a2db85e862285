package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Gemm}'s blocked product with a 4-bit B that is decoded straight into the packed panel
 * layout of {@link GemmKernel} (kc rows of NR floats), so the weight never passes through an F32
 * copy that is then repacked. A (the activations, few rows) is packed once, whole. The k blocks,
 * the micro-kernels, the tile shapes and the accumulation into C are Gemm's, so every element of
 * C is the sum Gemm computes on the dequantized weight, bit for bit.
 *
 * <p>Forward, {@code y = x · Wᵀ}: panel element (p, j) is {@code W[j, p]}, eight k values of each
 * of L rows at a time: one int of packed codes per row, a nibble per step picked by shift, looked
 * up in the code table and multiplied by the row's block absmax (the scalar decode's product).
 * Backward, {@code dx = dy · W}: panel row p is NR consecutive codes of row p of W
 * ({@link Dequant4Vector#rowsToF32}). Threads split C's columns (each panel decoded once).
 */
final class Gemm4Bit {
    private static final VectorSpecies<Float> FLOATS = Gemm.SPECIES;
    private static final VectorSpecies<Integer> INTS = FLOATS.withLanes(int.class);
    private static final int L = FLOATS.length();
    private static final int MR = Gemm.MR;
    private static final int NR = Gemm.NR;
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    // lane i of the first half reads byte i / 2, of the second byte L / 2 + i / 2; even lanes take the high nibble
    private static final VectorShuffle<Integer> FIRST_HALF = VectorShuffle.fromOp(INTS, i -> i / 2);
    private static final VectorShuffle<Integer> SECOND_HALF = VectorShuffle.fromOp(INTS, i -> L / 2 + i / 2);
    private static final IntVector NIBBLE_SHIFT = IntVector.zero(INTS).addIndex(1).and(1).mul(-4).add(4);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Packed A beyond this many floats goes the tiled way instead (the buffer is kept per calling thread). */
    private static final long MAX_PACKED_A = 1L << 24;
    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);
    private static final ThreadLocal<float[][]> PACKED_A = ThreadLocal.withInitial(() -> new float[1][]);

    private Gemm4Bit() {}

    private static final class Workspace {
        final float[] b = new float[Gemm.KC * NR];
        final float[] tile = new float[MR * NR];
        final int[] words = new int[L];
        final float[] scales = new float[L];
    }

    /** Whether {@link #multiply} applies: Gemm would take its blocked path, F32 compute, L >= 8 lanes. */
    static boolean applies(Matmul4Bit.Weight w, int m, int n, int k) {
        return Dequant4Vector.SUPPORTED && w.compute() == DType.F32 && Math.min(m, n) > GemmThin.maxNarrow()
                && (long) m * n * k > Gemm.SMALL && (long) ceilDiv(m, MR) * MR * k <= MAX_PACKED_A;
    }

    /**
     * C[m, n] = A[m, k] · op(W), A and C row-major F32: op(W) = Wᵀ (forward, n = out, k = in) or
     * W (inputGradient, n = in, k = out).
     */
    static void multiply(Matmul4Bit.Weight w, boolean inputGradient, MemorySegment a, int m, MemorySegment c) {
        int n = inputGradient ? w.in() : w.out();
        int k = inputGradient ? w.out() : w.in();
        float[] packedA = packA(a, m, k);
        int kBlocks = ceilDiv(k, Gemm.KC);
        int kBlock = ceilDiv(k, kBlocks);
        int mPanels = ceilDiv(m, MR);
        int nPanels = ceilDiv(n, NR);
        long grain = Math.max(1, (1L << 18) / ((long) m * k * NR));
        Parallel.forRange(nPanels, grain, (from, to) -> {
            Workspace ws = WORKSPACE.get();
            for (long jp = from; jp < to; jp++) {
                int j = (int) jp * NR;
                int cols = Math.min(NR, n - j);
                for (int pc = 0; pc < k; pc += kBlock) {
                    int kc = Math.min(kBlock, k - pc);
                    if (inputGradient) {
                        decodeRows(w, pc, kc, j, cols, ws.b);
                    } else {
                        decodeTransposed(w, pc, kc, j, cols, ws);
                    }
                    boolean accumulate = pc > 0;
                    for (int i = 0; i < mPanels; i++) {
                        int rows = Math.min(MR, m - i * MR);
                        GemmKernel.kernel(packedA, i * k * MR + pc * MR, ws.b, 0, kc, ws.tile, rows, cols);
                        store(ws.tile, c, n, i * MR, rows, j, cols, accumulate);
                    }
                }
            }
        });
    }

    /** A [m, k] as MR-row panels over the whole k: element (i, p) at {@code (i / MR) * k * MR + p * MR + i % MR}. */
    private static float[] packA(MemorySegment a, int m, int k) {
        int panels = ceilDiv(m, MR);
        int size = panels * MR * k;
        float[][] holder = PACKED_A.get();
        if (holder[0] == null || holder[0].length < size) {
            holder[0] = new float[size];
        }
        float[] dst = holder[0];
        Parallel.forRange(panels, Math.max(1, (1 << 16) / ((long) MR * k)), (from, to) -> {
            for (long panel = from; panel < to; panel++) {
                int base = (int) panel * k * MR;
                for (int r = 0; r < MR; r++) {
                    int i = (int) panel * MR + r;
                    if (i < m) {
                        long src = (long) i * k;
                        for (int p = 0; p < k; p++) {
                            dst[base + p * MR + r] = a.getAtIndex(F32, src + p);
                        }
                    } else {
                        for (int p = 0; p < k; p++) {
                            dst[base + p * MR + r] = 0f;
                        }
                    }
                }
            }
        });
        return dst;
    }

    /**
     * Panel of op(W) = W for C columns [j, j + cols): {@code b[p * NR + col] = W[pc + p, j + col]},
     * zero beyond cols.
     */
    private static void decodeRows(Matmul4Bit.Weight w, int pc, int kc, int j, int cols, float[] b) {
        int bs = w.blocksize();
        if (cols == NR && w.in() % bs == 0 && j % bs + NR <= bs) {
            // each panel row is NR codes inside one block: one byte load, two lookups
            IntVector table0 = FloatVector.fromArray(FLOATS, w.code(), 0).reinterpretAsInts();
            IntVector table1 = L == 16 ? table0 : FloatVector.fromArray(FLOATS, w.code(), L % 16).reinterpretAsInts();
            long blocksPerRow = w.in() / bs;
            for (int p = 0; p < kc; p++) {
                long row = pc + p;
                FloatVector scale = FloatVector.broadcast(FLOATS, w.scales().get(row * blocksPerRow + j / bs));
                IntVector bytes = (IntVector) ByteVector.fromMemorySegment(BYTES, w.packed(), (row * w.in() + j) >>> 1,
                        ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, INTS, 0);
                lookup(bytes, FIRST_HALF, table0, table1).mul(scale).intoArray(b, p * NR);
                lookup(bytes, SECOND_HALF, table0, table1).mul(scale).intoArray(b, p * NR + L);
            }
            return;
        }
        Dequant4Vector.rowsToF32(w.packed(), w.scales(), w.code(), w.blocksize(), w.compute(), (long) pc * w.in() + j,
                w.in(), kc, cols, MemorySegment.ofArray(b), 0, NR);
        if (cols < NR) {
            for (int p = 0; p < kc; p++) {
                for (int col = cols; col < NR; col++) {
                    b[p * NR + col] = 0f;
                }
            }
        }
    }

    /**
     * Panel of op(W) = Wᵀ for C columns [j, j + cols): {@code b[p * NR + col] = W[j + col, pc + p]},
     * zero beyond cols. Groups of L rows with whole blocks per row ({@code in % blocksize == 0})
     * decode eight k values per step on vectors; the rest, and the first and last few k values
     * that do not fill a step, one at a time.
     */
    private static void decodeTransposed(Matmul4Bit.Weight w, int pc, int kc, int j, int cols, Workspace ws) {
        float[] b = ws.b;
        int in = w.in();
        int bs = w.blocksize();
        boolean vector = in % bs == 0 && bs % 8 == 0;
        int lo = Math.min(pc + kc, (pc + 7) & ~7);
        int hi = Math.max(lo, (pc + kc) & ~7);
        for (int g = 0; g < NR; g += L) {
            if (vector && g + L <= cols) {
                scalarColumns(w, pc, pc, lo, j + g, L, b, g);
                vectorColumns(w, pc, lo, hi, j + g, ws, g);
                scalarColumns(w, pc, hi, pc + kc, j + g, L, b, g);
            } else {
                int n = Math.max(0, Math.min(L, cols - g));
                scalarColumns(w, pc, pc, pc + kc, j + g, n, b, g);
                for (int p = 0; p < kc; p++) {
                    for (int col = g + n; col < g + L; col++) {
                        b[p * NR + col] = 0f;
                    }
                }
            }
        }
    }

    /** Rows [row0, row0 + L) of W, k in [from, to) (multiples of 8), into panel columns [g, g + L). */
    private static void vectorColumns(Matmul4Bit.Weight w, int pc, int from, int to, int row0, Workspace ws, int g) {
        if (from >= to) {
            return;
        }
        int in = w.in();
        int bs = w.blocksize();
        float[] code = w.code();
        IntVector tableLow = FloatVector.fromArray(FLOATS, code, 0).reinterpretAsInts();
        IntVector tableHigh = L == 16 ? tableLow : FloatVector.fromArray(FLOATS, code, L % 16).reinterpretAsInts();
        MemorySegment packed = w.packed();
        BlockScales scales = w.scales();
        int[] words = ws.words;
        float[] rowScales = ws.scales;
        float[] b = ws.b;
        FloatVector scale = null;
        for (int kk = from; kk < to; kk += 8) {
            if (scale == null || kk % bs == 0) {
                for (int l = 0; l < L; l++) {
                    rowScales[l] = scales.get(((long) (row0 + l) * in + kk) / bs);
                }
                scale = FloatVector.fromArray(FLOATS, rowScales, 0);
            }
            for (int l = 0; l < L; l++) {
                words[l] = packed.get(INT_LE, ((long) (row0 + l) * in + kk) >>> 1);
            }
            IntVector word = IntVector.fromArray(INTS, words, 0);
            int at = (kk - pc) * NR + g;
            for (int t = 0; t < 8; t++) {
                // element kk + t: byte t / 2 of the word, high nibble when t is even
                int shift = 8 * (t >> 1) + ((t & 1) == 0 ? 4 : 0);
                IntVector nibble = word.lanewise(VectorOperators.LSHR, shift).and(15);
                ((FloatVector) nibble.selectFrom(tableLow, tableHigh).reinterpretAsFloats()).mul(scale)
                        .intoArray(b, at + t * NR);
            }
        }
    }

    /** Rows [row0, row0 + n) of W, k in [from, to), into panel columns [g, g + n), one element at a time. */
    private static void scalarColumns(Matmul4Bit.Weight w, int pc, int from, int to, int row0, int n, float[] b, int g) {
        for (int l = 0; l < n; l++) {
            long rowStart = (long) (row0 + l) * w.in();
            for (int kk = from; kk < to; kk++) {
                long e = rowStart + kk;
                b[(kk - pc) * NR + g + l] = Dequant4Scalar.round(
                        w.code()[Dequant4Scalar.nibble(w.packed(), e)] * w.scales().get(e / w.blocksize()), w.compute());
            }
        }
    }

    /** Codes of elements 2i and 2i + 1 (high, low nibble of byte i) for the lanes of one half, looked up unscaled. */
    private static FloatVector lookup(IntVector bytes, VectorShuffle<Integer> half, IntVector table0, IntVector table1) {
        IntVector nibbles = bytes.rearrange(half).lanewise(VectorOperators.LSHR, NIBBLE_SHIFT).and(15);
        return (FloatVector) nibbles.selectFrom(table0, table1).reinterpretAsFloats();
    }

    /** C[i:i+rows, j:j+cols] = tile, or C + tile when accumulating (as Gemm stores with beta 0 and 1). */
    private static void store(float[] tile, MemorySegment c, int ldc, int i, int rows, int j, int cols,
                              boolean accumulate) {
        if (cols == NR) {
            for (int r = 0; r < rows; r++) {
                long at = ((long) (i + r) * ldc + j) * Float.BYTES;
                for (int v = 0; v < NR; v += L) {
                    FloatVector acc = FloatVector.fromArray(FLOATS, tile, r * NR + v);
                    long vat = at + (long) v * Float.BYTES;
                    if (accumulate) {
                        acc = FloatVector.fromMemorySegment(FLOATS, c, vat, NATIVE).add(acc);
                    }
                    acc.intoMemorySegment(c, vat, NATIVE);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            long at = (long) (i + r) * ldc + j;
            for (int col = 0; col < cols; col++) {
                float acc = tile[r * NR + col];
                c.setAtIndex(F32, at + col, accumulate ? c.getAtIndex(F32, at + col) + acc : acc);
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
