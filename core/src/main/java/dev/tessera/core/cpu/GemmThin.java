package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products with one narrow side, as in a LoRA adapter's rank-r factors: {@code x·Aᵀ}
 * ([tokens, in]·[in, r]), {@code g·B} ([tokens, out]·[out, r]) and the weight gradients
 * {@code gᵀ·z} ([out, tokens]·[tokens, r]), {@code g_zᵀ·x} ([r, tokens]·[tokens, in]). The
 * packed kernel would pad the narrow side to a whole register tile and pack (transpose) all of
 * the wide operand to produce a few columns; here the narrow operand is copied once into a small
 * array and the wide one is read where it lies.
 *
 * <p>The work is stated as D[i, j] = Σ_p P[i, p]·Q[p, j] with i < M (the wide side) and
 * j < N ≤ {@link #maxNarrow()} (the narrow side): D = C, P = op(A), Q = op(B) when n is narrow,
 * and D = Cᵀ, P = op(B)ᵀ, Q = op(A)ᵀ when m is. Two kernels, by which way P's rows lie:
 * <ul>
 *   <li>P contiguous along p (dot kernel): eight running vector sums per row of P, one per column
 *       of Q, over p in steps of a vector; their lanes are added in lane order, then the tail.
 *   <li>P contiguous along i (axpy kernel): a vector of L rows at a time, eight columns, each
 *       P[p, i..i+L] times a broadcast Q[p, j], p in order.
 * </ul>
 * Threads split i only, so every element is summed in the same order whatever the thread count.
 */
final class GemmThin {
    private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
    private static final int L = S.length();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Columns of Q per pass of a kernel: eight running sums in registers. */
    private static final int G = 8;
    /** p per pass of the dot kernel: eight columns of 512 floats of Q, 16 KiB, stay in L1. */
    private static final int CHUNK = 512;
    /** Aim for at least this many multiply-adds per parallel chunk. */
    private static final long GRAIN_FLOPS = 1L << 17;
    /** The copy of Q, per calling thread, grown to the largest product seen and then reused. */
    private static final ThreadLocal<float[][]> NARROW = ThreadLocal.withInitial(() -> new float[1][0]);

    private GemmThin() {}

    /** Narrow means at most half a register tile of the packed kernel: below that it wastes half its work. */
    static int maxNarrow() {
        return Gemm.NR / 2;
    }

    /** C[m,n] = beta*C + op(A)[m,k] · op(B)[k,n] for min(m, n) ≤ {@link #maxNarrow()}; arguments as in {@link Gemm#sgemm}. */
    static void multiply(boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOff, long lda, MemorySegment b, long bOff, long ldb,
            float beta, MemorySegment c, long cOff, long ldc) {
        // Element strides of op(A) (along its rows i and along p) and of op(B) (along p and its columns j).
        long aI = transA ? 1 : lda, aP = transA ? lda : 1;
        long bP = transB ? 1 : ldb, bJ = transB ? ldb : 1;
        // m decides first, so that splitting op(B) into column tiles (as the 4-bit products do)
        // gives every element of C the same sum as the whole product.
        if (m <= maxNarrow()) {
            // Cᵀ = op(B)ᵀ·op(A)ᵀ: P[i, p] = op(B)[p, i], Q[p, j] = op(A)[j, p], D[i, j] = C[j, i].
            run(new Problem(n, m, k, b, bOff, bJ, bP, a, aOff, aP, aI, beta, c, cOff, 1, ldc));
        } else {
            run(new Problem(m, n, k, a, aOff, aI, aP, b, bOff, bP, bJ, beta, c, cOff, ldc, 1));
        }
    }

    /** D[i, j] (at d + i*dI + j*dJ) = beta*D + Σ_p P[i, p] (at p + i*pI + p*pP) · Q[p, j] (at q + p*qP + j*qJ). */
    private record Problem(int wide, int narrow, int k,
            MemorySegment p, long pOff, long pI, long pP,
            MemorySegment q, long qOff, long qP, long qJ,
            float beta, MemorySegment d, long dOff, long dI, long dJ) {}

    private static void run(Problem w) {
        int columns = (w.narrow + G - 1) / G * G;
        float[][] holder = NARROW.get();
        if (holder[0].length < columns * w.k) {
            holder[0] = new float[columns * w.k];
        }
        float[] q = holder[0];
        boolean dot = w.pP == 1;
        // The dot kernel reads Q's columns along p (qt[j*k + p]); the axpy kernel reads Q's rows
        // (q[p*columns + j]). Columns past the narrow side are zero.
        Arrays.fill(q, 0, columns * w.k, 0f);
        int jStep = dot ? w.k : 1, pStep = dot ? 1 : columns;
        for (int j = 0; j < w.narrow; j++) {
            for (int p = 0; p < w.k; p++) {
                q[j * jStep + p * pStep] = w.q.getAtIndex(F32, w.qOff + p * w.qP + j * w.qJ);
            }
        }
        long perRow = (long) w.k * columns;
        if (dot) {
            Parallel.forRange(w.wide, Math.max(1, GRAIN_FLOPS / perRow), (from, to) ->
                    dotRows(w, q, columns, (int) from, (int) to));
        } else {
            int blocks = (w.wide + L - 1) / L;
            Parallel.forRange(blocks, Math.max(1, GRAIN_FLOPS / (perRow * L)), (from, to) -> {
                float[] lanes = new float[G * L];
                for (int blk = (int) from; blk < to; blk++) {
                    axpyBlock(w, q, columns, blk * L, lanes);
                }
            });
        }
    }

    /**
     * Rows [from, to) of D by the dot kernel; qt holds Q's columns, each k floats, zero past the
     * narrow side. p goes in chunks whose eight columns of qt stay in L1 across the rows (a
     * whole column of a deep product would be read from L2 once per row); the running sums wait
     * in {@code sums} between chunks, so each lane still adds its p in order.
     */
    private static void dotRows(Problem w, float[] qt, int columns, int from, int to) {
        int k = w.k;
        int vectorEnd = k / L * L;
        float[] sums = new float[(to - from) * G * L];
        for (int j0 = 0; j0 < columns; j0 += G) {
            int base = j0 * k;
            for (int p0 = 0; p0 < vectorEnd; p0 += CHUNK) {
                int p1 = Math.min(vectorEnd, p0 + CHUNK);
                for (int i = from; i < to; i++) {
                    int at = (i - from) * G * L;
                    FloatVector s0 = FloatVector.fromArray(S, sums, at), s1 = FloatVector.fromArray(S, sums, at + L);
                    FloatVector s2 = FloatVector.fromArray(S, sums, at + 2 * L), s3 = FloatVector.fromArray(S, sums, at + 3 * L);
                    FloatVector s4 = FloatVector.fromArray(S, sums, at + 4 * L), s5 = FloatVector.fromArray(S, sums, at + 5 * L);
                    FloatVector s6 = FloatVector.fromArray(S, sums, at + 6 * L), s7 = FloatVector.fromArray(S, sums, at + 7 * L);
                    long row = (w.pOff + i * w.pI) * Float.BYTES;
                    for (int p = p0; p < p1; p += L) {
                        FloatVector x = FloatVector.fromMemorySegment(S, w.p, row + (long) p * Float.BYTES, NATIVE);
                        s0 = x.fma(FloatVector.fromArray(S, qt, base + p), s0);
                        s1 = x.fma(FloatVector.fromArray(S, qt, base + k + p), s1);
                        s2 = x.fma(FloatVector.fromArray(S, qt, base + 2 * k + p), s2);
                        s3 = x.fma(FloatVector.fromArray(S, qt, base + 3 * k + p), s3);
                        s4 = x.fma(FloatVector.fromArray(S, qt, base + 4 * k + p), s4);
                        s5 = x.fma(FloatVector.fromArray(S, qt, base + 5 * k + p), s5);
                        s6 = x.fma(FloatVector.fromArray(S, qt, base + 6 * k + p), s6);
                        s7 = x.fma(FloatVector.fromArray(S, qt, base + 7 * k + p), s7);
                    }
                    s0.intoArray(sums, at);
                    s1.intoArray(sums, at + L);
                    s2.intoArray(sums, at + 2 * L);
                    s3.intoArray(sums, at + 3 * L);
                    s4.intoArray(sums, at + 4 * L);
                    s5.intoArray(sums, at + 5 * L);
                    s6.intoArray(sums, at + 6 * L);
                    s7.intoArray(sums, at + 7 * L);
                }
            }
            int width = Math.min(G, w.narrow - j0);
            for (int i = from; i < to; i++) {
                long row = w.pOff + i * w.pI;
                int at = (i - from) * G * L;
                for (int c = 0; c < width; c++) {
                    // Lanes in lane order (reduceLanes leaves the order unspecified), then the tail in p order.
                    float sum = 0f;
                    for (int l = 0; l < L; l++) {
                        sum += sums[at + c * L + l];
                    }
                    int col = base + c * k;
                    for (int p = vectorEnd; p < k; p++) {
                        sum = Math.fma(w.p.getAtIndex(F32, row + p), qt[col + p], sum);
                    }
                    store(w, i, j0 + c, sum);
                }
            }
            Arrays.fill(sums, 0f);
        }
    }

    /** Rows i0..i0+L of D by the axpy kernel (fewer at the end); q holds Q's rows, each {@code columns} floats. */
    private static void axpyBlock(Problem w, float[] q, int columns, int i0, float[] lanes) {
        int k = w.k;
        int rows = Math.min(L, w.wide - i0);
        for (int j0 = 0; j0 < columns; j0 += G) {
            int width = Math.min(G, w.narrow - j0);
            if (rows < L) {
                // The last rows, fewer than a vector: the same sums one element at a time, p in order.
                Arrays.fill(lanes, 0f);
                for (int p = 0; p < k; p++) {
                    int qRow = p * columns + j0;
                    for (int r = 0; r < rows; r++) {
                        float x = w.p.getAtIndex(F32, w.pOff + (i0 + r) * w.pI + p * w.pP);
                        for (int c = 0; c < width; c++) {
                            lanes[c * L + r] = Math.fma(x, q[qRow + c], lanes[c * L + r]);
                        }
                    }
                }
            } else {
                FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
                FloatVector s4 = FloatVector.zero(S), s5 = FloatVector.zero(S), s6 = FloatVector.zero(S), s7 = FloatVector.zero(S);
                long at = (w.pOff + i0) * Float.BYTES;
                for (int p = 0; p < k; p++, at += w.pP * Float.BYTES) {
                    FloatVector x = FloatVector.fromMemorySegment(S, w.p, at, NATIVE);
                    int qRow = p * columns + j0;
                    s0 = x.fma(FloatVector.broadcast(S, q[qRow]), s0);
                    s1 = x.fma(FloatVector.broadcast(S, q[qRow + 1]), s1);
                    s2 = x.fma(FloatVector.broadcast(S, q[qRow + 2]), s2);
                    s3 = x.fma(FloatVector.broadcast(S, q[qRow + 3]), s3);
                    s4 = x.fma(FloatVector.broadcast(S, q[qRow + 4]), s4);
                    s5 = x.fma(FloatVector.broadcast(S, q[qRow + 5]), s5);
                    s6 = x.fma(FloatVector.broadcast(S, q[qRow + 6]), s6);
                    s7 = x.fma(FloatVector.broadcast(S, q[qRow + 7]), s7);
                }
                s0.intoArray(lanes, 0);
                s1.intoArray(lanes, L);
                s2.intoArray(lanes, 2 * L);
                s3.intoArray(lanes, 3 * L);
                s4.intoArray(lanes, 4 * L);
                s5.intoArray(lanes, 5 * L);
                s6.intoArray(lanes, 6 * L);
                s7.intoArray(lanes, 7 * L);
            }
            for (int c = 0; c < width; c++) {
                for (int r = 0; r < rows; r++) {
                    store(w, i0 + r, j0 + c, lanes[c * L + r]);
                }
            }
        }
    }

    /** D[i, j] = beta*D[i, j] + sum, as the matrix-vector products store. */
    private static void store(Problem w, int i, int j, float sum) {
        GemmVector.store(w.d, w.dOff + i * w.dI + j * w.dJ, w.beta, sum);
    }
}
