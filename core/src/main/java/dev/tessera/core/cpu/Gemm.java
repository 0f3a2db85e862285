package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply on the CPU: blocked and packed in the GotoBLAS/BLIS manner,
 * with a register-tiled Vector API micro-kernel, parallel over blocks of C on {@link Parallel}.
 *
 * <p>All matrices are row-major F32 in {@link MemorySegment}s; offsets, leading dimensions and
 * strides count floats, not bytes. {@link ReferenceGemm} is the naive twin it is tested against.
 *
 * <pre>{@code
 * // C[m,n] = A[m,k] · B[n,k]^T, as in a linear layer whose weight is stored [out,in]
 * Gemm.sgemm(false, true, m, n, k, a, 0, k, w, 0, k, 0f, c, 0, n);
 * }</pre>
 *
 * <p>Every element of C is summed over k in the same order whatever the thread count: threads
 * split C into whole register tiles and never split k, so results are bitwise reproducible.
 */
public final class Gemm {
    static final VectorSpecies<Float> SPECIES = VectorWidth.FLOATS;
    static final int LANES = SPECIES.length();
    /** Register tile: MR rows by NR = 2 vectors of columns of C; see {@link GemmKernel}. */
    static final int NR = 2 * LANES;
    static final int MR = GemmKernel.MR;
    /**
     * Cache blocks, tuned on Zen 5 (48 KiB L1d, 1 MiB L2 per core): an MC x KC block of packed A
     * (432 KiB) and the KC x NR panel of B it meets (96 KiB) share L2; the KC x NC block of
     * packed B (3 MiB) is shared by all of A from L3. A deep KC means few read-modify-write
     * passes over C, which matters most for wide outputs such as a language-model head. Sweeps
     * of KC 192..1024, MC 144..288 and NC 1024..4096 moved GFLOP/s by under 10%.
     */
    static final int KC = 768;
    static final int MC = 12 * MR;
    static final int NC = 1024 / NR * NR;
    /** Below this many multiply-adds a plain loop beats packing. */
    static final long SMALL = 16 * 16 * 16;
    /** Aim for at least this many multiply-adds per parallel chunk. */
    private static final long GRAIN_FLOPS = 1L << 18;

    /** Pack with 8 x 8 register transposes where the panels allow it. */
    private static final int T = GemmTranspose.SIZE;
    private static final boolean TRANSPOSE_A = GemmTranspose.AVAILABLE && MR >= T;
    private static final boolean TRANSPOSE_B = GemmTranspose.AVAILABLE && NR % T == 0;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private Gemm() {}

    /** Per-thread packing buffers, allocated once and reused by every call on that thread. */
    private static final class Workspace {
        final float[] a = new float[MC * KC];
        final float[] b = new float[KC * NC];
        final float[] tile = new float[MR * NR];
    }

    /** One product's operands; offsets and leading dimensions in floats. */
    private record Operands(boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOff, long lda, MemorySegment b, long bOff, long ldb,
            float beta, MemorySegment c, long cOff, long ldc) {}

    /**
     * C[m,n] = beta*C + op(A)[m,k] · op(B)[k,n]. A is stored [m,k] (row stride lda) when
     * !transA, [k,m] when transA; same for B ([k,n] / [n,k]); C is [m,n] with row stride ldc.
     * beta 0 means C is overwritten (never read, so NaN garbage in C does not leak).
     *
     * @throws IllegalArgumentException if a size is negative, a leading dimension is shorter
     *     than its row, or a segment is too small for its operand
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOffset, long lda,
            MemorySegment b, long bOffset, long ldb,
            float beta, MemorySegment c, long cOffset, long ldc) {
        GemmChecks.check(1, transA, transB, m, n, k, a, aOffset, lda, 0, b, bOffset, ldb, 0,
                c, cOffset, ldc, 0);
        multiply(new Operands(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb,
                beta, c, cOffset, ldc));
    }

    /**
     * Batched: matrix i of A starts at aOffset + i*strideA (a stride of 0 broadcasts one matrix
     * to all), same for B and C. Otherwise as {@link #sgemm}.
     */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOffset, long lda, long strideA,
            MemorySegment b, long bOffset, long ldb, long strideB,
            float beta, MemorySegment c, long cOffset, long ldc, long strideC) {
        GemmChecks.check(batch, transA, transB, m, n, k, a, aOffset, lda, strideA,
                b, bOffset, ldb, strideB, c, cOffset, ldc, strideC);
        if (batch == 0) {
            return;
        }
        Parallel.RangeBody items = (from, to) -> {
            for (long t = from; t < to; t++) {
                multiply(new Operands(transA, transB, m, n, k, a, aOffset + t * strideA, lda,
                        b, bOffset + t * strideB, ldb, beta, c, cOffset + t * strideC, ldc));
            }
        };
        int threads = Parallel.threads();
        if (batch % threads == 0 || batch >= 4 * threads) {
            // Whole products per task (multiply() runs inline on a worker thread): balanced when
            // the batch divides evenly or is large; otherwise each product is split instead.
            long flops = Math.max(1L, (long) m * n * Math.max(k, 1));
            Parallel.forRange(batch, Math.max(1, GRAIN_FLOPS / flops), items);
        } else {
            items.run(0, batch);
        }
    }

    private static void multiply(Operands o) {
        int m = o.m, n = o.n, k = o.k;
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            scaleC(o);
        } else if ((long) m * n * k <= SMALL) {
            GemmSmall.multiply(o.transA, o.transB, m, n, k, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb,
                    o.beta, o.c, o.cOff, o.ldc);
        } else if (m == 1) {
            // c[0,:] = op(A)[0,:] · op(B): a vector times a matrix.
            float[] x = GemmVector.gather(o.a, o.aOff, o.transA ? o.lda : 1, k);
            if (o.transB) {
                GemmVector.rowDots(x, o.b, o.bOff, o.ldb, n, o.beta, o.c, o.cOff, 1);
            } else {
                GemmVector.rowCombination(x, o.b, o.bOff, o.ldb, n, o.beta, o.c, o.cOff, 1);
            }
        } else if (n == 1) {
            // c[:,0] = op(A) · op(B)[:,0]: a matrix times a vector.
            float[] x = GemmVector.gather(o.b, o.bOff, o.transB ? 1 : o.ldb, k);
            if (o.transA) {
                GemmVector.rowCombination(x, o.a, o.aOff, o.lda, m, o.beta, o.c, o.cOff, o.ldc);
            } else {
                GemmVector.rowDots(x, o.a, o.aOff, o.lda, m, o.beta, o.c, o.cOff, o.ldc);
            }
        } else if (isThin(m, n, k)) {
            GemmThin.multiply(o.transA, o.transB, m, n, k, o.a, o.aOff, o.lda, o.b, o.bOff, o.ldb,
                    o.beta, o.c, o.cOff, o.ldc);
        } else {
            blocked(o);
        }
    }

    /**
     * Whether a product of this shape goes to {@link GemmThin}: neither tiny nor a matrix-vector
     * product, and one side at most half a register tile.
     */
    static boolean isThin(int m, int n, int k) {
        return (long) m * n * k > SMALL && m > 1 && n > 1 && Math.min(m, n) <= GemmThin.maxNarrow();
    }

    /** k = 0: the product is empty, so C = beta*C (and beta 0 clears C without reading it). */
    private static void scaleC(Operands o) {
        if (o.beta == 1f) {
            return;
        }
        for (int i = 0; i < o.m; i++) {
            long row = o.cOff + (long) i * o.ldc;
            for (int j = 0; j < o.n; j++) {
                float v = o.beta == 0f ? 0f : o.beta * o.c.getAtIndex(F32, row + j);
                o.c.setAtIndex(F32, row + j, v);
            }
        }
    }

    /**
     * Splits C into column strips (whole NR panels) or row strips (whole MR panels), one per
     * thread. The strip direction is chosen so the smaller operand is the one every thread packs.
     */
    private static void blocked(Operands o) {
        int m = o.m, n = o.n;
        int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
        int threads = Parallel.threads();
        boolean splitColumns = m <= n
                ? !(nPanels < threads && mPanels > nPanels)
                : mPanels < threads && nPanels > mPanels;
        if (splitColumns) {
            long grain = Math.max(1, GRAIN_FLOPS / ((long) m * o.k * NR));
            Parallel.forRange(nPanels, grain, (from, to) ->
                    block(WORKSPACE.get(), o, 0, m, (int) from * NR, (int) Math.min(n, to * NR)));
        } else {
            long grain = Math.max(1, GRAIN_FLOPS / ((long) n * o.k * MR));
            Parallel.forRange(mPanels, grain, (from, to) ->
                    block(WORKSPACE.get(), o, (int) from * MR, (int) Math.min(m, to * MR), 0, n));
        }
    }

    /** C[i0:i1, j0:j1] on one thread: the five loops around the micro-kernel. */
    private static void block(Workspace ws, Operands o, int i0, int i1, int j0, int j1) {
        // k in equal blocks of at most KC (k = 1000: 2 x 500, not 768 + 232).
        int kBlocks = (o.k + KC - 1) / KC;
        int kBlock = (o.k + kBlocks - 1) / kBlocks;
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < o.k; pc += kBlock) {
                int kc = Math.min(kBlock, o.k - pc);
                float beta = pc == 0 ? o.beta : 1f;
                packB(ws.b, o, pc, kc, jc, nc);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    packA(ws.a, o, ic, mc, pc, kc);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int cols = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            int rows = Math.min(MR, mc - ir);
                            GemmKernel.kernel(ws.a, ir * kc, ws.b, jr * kc, kc, ws.tile, rows, cols);
                            storeTile(ws.tile, o, ic + ir, rows, jc + jr, cols, beta);
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs op(A)[ic:ic+mc, pc:pc+kc] as MR-row panels, each kc columns of MR contiguous floats
     * (panel r at r*kc), zero-padding the last panel's missing rows.
     */
    private static void packA(float[] dst, Operands o, int ic, int mc, int pc, int kc) {
        MemorySegment a = o.a;
        for (int ir = 0; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir);
            int base = ir * kc;
            if (o.transA) {
                // op(A)[i,p] = A[p,i]: each p holds the panel's rows contiguously.
                for (int p = 0; p < kc; p++) {
                    long src = o.aOff + (long) (pc + p) * o.lda + ic + ir;
                    int d = base + p * MR;
                    MemorySegment.copy(a, F32, src * Float.BYTES, dst, d, rows);
                    if (rows < MR) {
                        Arrays.fill(dst, d + rows, d + MR, 0f);
                    }
                }
            } else {
                // Rows of A run along p, across the panel's grain: transpose 8 x 8 blocks, the
                // last one overlapping the one before when MR is not a multiple of 8.
                long src = o.aOff + (long) (ic + ir) * o.lda + pc;
                int p = 0;
                if (TRANSPOSE_A && rows == MR) {
                    for (; p + T <= kc; p += T) {
                        for (int r = 0; r < MR; r += T) {
                            int r0 = Math.min(r, MR - T);
                            GemmTranspose.transpose(a, (src + r0 * o.lda + p) * Float.BYTES, o.lda * Float.BYTES,
                                    dst, base + p * MR + r0, MR);
                        }
                    }
                }
                scatterRows(dst, base, MR, a, src, o.lda, rows, p, kc);
            }
        }
    }

    /**
     * The scalar edge of a packed panel: dst[base + q*width + r] = S[r, q] for the panel's first
     * {@code rows} lines of S (line r of S starts at float {@code src + r*ld} of {@code s}) and
     * 0 for the rest, for q in [from, to). No branch inside the loops depends on r or q: a
     * per-element condition here made C2 speculate on the profile of whichever shapes came
     * first and deoptimize, again and again, when LoRA's narrow products arrived.
     */
    private static void scatterRows(float[] dst, int base, int width, MemorySegment s, long src, long ld,
            int rows, int from, int to) {
        for (int r = 0; r < rows; r++) {
            long line = src + r * ld;
            for (int q = from; q < to; q++) {
                dst[base + q * width + r] = s.getAtIndex(F32, line + q);
            }
        }
        for (int q = from; q < to && rows < width; q++) {
            Arrays.fill(dst, base + q * width + rows, base + q * width + width, 0f);
        }
    }

    /**
     * Packs op(B)[pc:pc+kc, jc:jc+nc] as NR-column panels, each kc rows of NR contiguous floats
     * (panel j at j*kc), zero-padding the last panel's missing columns.
     */
    private static void packB(float[] dst, Operands o, int pc, int kc, int jc, int nc) {
        if (o.transB) {
            for (int jr = 0; jr < nc; jr += NR) {
                packBTransposed(dst, jr * kc, o, pc, kc, jc + jr, Math.min(NR, nc - jr));
            }
            return;
        }
        // Stored rows run along the panels' grain: copy NR floats of each row into each panel.
        MemorySegment b = o.b;
        int full = nc / NR * NR;
        for (int jr = 0; jr < full; jr += NR) {
            long src = (o.bOff + (long) pc * o.ldb + jc + jr) * Float.BYTES;
            for (int p = 0; p < kc; p++, src += o.ldb * Float.BYTES) {
                int d = jr * kc + p * NR;
                FloatVector.fromMemorySegment(SPECIES, b, src, NATIVE).intoArray(dst, d);
                FloatVector.fromMemorySegment(SPECIES, b, src + LANES * Float.BYTES, NATIVE).intoArray(dst, d + LANES);
            }
        }
        if (full < nc) {
            int cols = nc - full;
            long src = (o.bOff + (long) pc * o.ldb + jc + full) * Float.BYTES;
            for (int p = 0; p < kc; p++, src += o.ldb * Float.BYTES) {
                int d = full * kc + p * NR;
                MemorySegment.copy(b, F32, src, dst, d, cols);
                Arrays.fill(dst, d + cols, d + NR, 0f);
            }
        }
    }

    /**
     * One panel of op(B) = Bᵀ: op(B)[p,j] = B[j,p], so stored rows run along p, across the
     * panel's grain; transpose 8 x 8 blocks where the panel is full.
     */
    private static void packBTransposed(float[] dst, int base, Operands o, int pc, int kc, int j, int cols) {
        MemorySegment b = o.b;
        long src = o.bOff + (long) j * o.ldb + pc;
        int p = 0;
        if (TRANSPOSE_B && cols == NR) {
            int end = kc / T * T;
            // Eight stored rows at a time, each read front to back: few streams to prefetch.
            for (int col = 0; col < NR; col += T) {
                for (int q = 0; q < end; q += T) {
                    GemmTranspose.transpose(b, (src + col * o.ldb + q) * Float.BYTES, o.ldb * Float.BYTES,
                            dst, base + q * NR + col, NR);
                }
            }
            p = end;
        }
        scatterRows(dst, base, NR, b, src, o.ldb, cols, p, kc);
    }

    /** C[i:i+rows, j:j+cols] = beta*C + tile; beta 0 never reads C. */
    private static void storeTile(float[] tile, Operands o, int i, int rows, int j, int cols, float beta) {
        MemorySegment c = o.c;
        if (rows == MR && cols == NR) {
            for (int r = 0; r < MR; r++) {
                long at = (o.cOff + (long) (i + r) * o.ldc + j) * Float.BYTES;
                for (int v = 0; v < NR; v += LANES) {
                    FloatVector acc = FloatVector.fromArray(SPECIES, tile, r * NR + v);
                    long vat = at + (long) v * Float.BYTES;
                    if (beta == 1f) {
                        acc = FloatVector.fromMemorySegment(SPECIES, c, vat, NATIVE).add(acc);
                    } else if (beta != 0f) {
                        acc = FloatVector.fromMemorySegment(SPECIES, c, vat, NATIVE)
                                .fma(FloatVector.broadcast(SPECIES, beta), acc);
                    }
                    acc.intoMemorySegment(c, vat, NATIVE);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            long at = o.cOff + (long) (i + r) * o.ldc + j;
            for (int col = 0; col < cols; col++) {
                float acc = tile[r * NR + col];
                float v;
                if (beta == 0f) {
                    v = acc;
                } else if (beta == 1f) {
                    v = c.getAtIndex(F32, at + col) + acc;
                } else {
                    v = Math.fma(c.getAtIndex(F32, at + col), beta, acc);
                }
                c.setAtIndex(F32, at + col, v);
            }
        }
    }
}
