package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector products for GEMMs with m = 1 or n = 1, where the packed kernel would waste most
 * of its tile. Both are memory-bound streams over the matrix, parallel over outputs; each output
 * is summed in the same order whatever the thread count.
 */
final class GemmVector {
    private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
    private static final int L = S.length();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Aim for at least this many multiply-adds per parallel chunk. */
    private static final long GRAIN_FLOPS = 1L << 16;

    private GemmVector() {}

    /** x[p] = s[off + p*step] for p < k, copied so the kernels read a contiguous heap array. */
    static float[] gather(MemorySegment s, long off, long step, int k) {
        float[] x = new float[k];
        if (step == 1) {
            MemorySegment.copy(s, F32, off * Float.BYTES, x, 0, k);
        } else {
            for (int p = 0; p < k; p++) {
                x[p] = s.getAtIndex(F32, off + p * step);
            }
        }
        return x;
    }

    /**
     * out[j] = beta*out[j] + dot(x, M[j,:]) for j < count, where M[j,p] = m[mOff + j*ldm + p] and
     * out[j] = c[cOff + j*cStep].
     */
    static void rowDots(float[] x, MemorySegment m, long mOff, long ldm, int count,
            float beta, MemorySegment c, long cOff, long cStep) {
        int k = x.length;
        Parallel.forRange(count, Math.max(1, GRAIN_FLOPS / k), (from, to) -> {
            float[] lanes = new float[L];
            for (int j = (int) from; j < to; j++) {
                long row = mOff + j * ldm;
                FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
                int p = 0;
                for (; p + 2 * L <= k; p += 2 * L) {
                    long at = (row + p) * Float.BYTES;
                    s0 = FloatVector.fromMemorySegment(S, m, at, NATIVE).fma(FloatVector.fromArray(S, x, p), s0);
                    s1 = FloatVector.fromMemorySegment(S, m, at + (long) L * Float.BYTES, NATIVE)
                            .fma(FloatVector.fromArray(S, x, p + L), s1);
                }
                // Reduce in a fixed lane order (reduceLanes leaves the order unspecified).
                s0.add(s1).intoArray(lanes, 0);
                float sum = 0f;
                for (float lane : lanes) {
                    sum += lane;
                }
                for (; p < k; p++) {
                    sum = Math.fma(m.getAtIndex(F32, row + p), x[p], sum);
                }
                store(c, cOff + j * cStep, beta, sum);
            }
        });
    }

    /**
     * out[j] = beta*out[j] + sum over p of x[p] * M[p,j] for j < count, where
     * M[p,j] = m[mOff + p*ldm + j] and out[j] = c[cOff + j*cStep].
     */
    static void rowCombination(float[] x, MemorySegment m, long mOff, long ldm, int count,
            float beta, MemorySegment c, long cOff, long cStep) {
        int k = x.length;
        int block = 4 * L;
        int blocks = (count + block - 1) / block;
        Parallel.forRange(blocks, Math.max(1, GRAIN_FLOPS / ((long) k * block)), (from, to) -> {
            float[] acc = new float[block];
            for (int blk = (int) from; blk < to; blk++) {
                int j0 = blk * block;
                int width = Math.min(block, count - j0);
                if (width == block) {
                    FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
                    FloatVector s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
                    for (int p = 0; p < k; p++) {
                        long at = (mOff + p * ldm + j0) * Float.BYTES;
                        FloatVector xp = FloatVector.broadcast(S, x[p]);
                        s0 = FloatVector.fromMemorySegment(S, m, at, NATIVE).fma(xp, s0);
                        s1 = FloatVector.fromMemorySegment(S, m, at + 1L * L * Float.BYTES, NATIVE).fma(xp, s1);
                        s2 = FloatVector.fromMemorySegment(S, m, at + 2L * L * Float.BYTES, NATIVE).fma(xp, s2);
                        s3 = FloatVector.fromMemorySegment(S, m, at + 3L * L * Float.BYTES, NATIVE).fma(xp, s3);
                    }
                    s0.intoArray(acc, 0);
                    s1.intoArray(acc, L);
                    s2.intoArray(acc, 2 * L);
                    s3.intoArray(acc, 3 * L);
                } else {
                    Arrays.fill(acc, 0f);
                    for (int p = 0; p < k; p++) {
                        long row = mOff + p * ldm + j0;
                        for (int j = 0; j < width; j++) {
                            acc[j] = Math.fma(m.getAtIndex(F32, row + j), x[p], acc[j]);
                        }
                    }
                }
                for (int j = 0; j < width; j++) {
                    store(c, cOff + (j0 + j) * cStep, beta, acc[j]);
                }
            }
        });
    }

    /** c[at] = beta*c[at] + sum; beta 0 never reads c (so NaN garbage there does not leak). */
    static void store(MemorySegment c, long at, float beta, float sum) {
        if (beta == 0f) {
            c.setAtIndex(F32, at, sum);
        } else if (beta == 1f) {
            c.setAtIndex(F32, at, c.getAtIndex(F32, at) + sum);
        } else {
            c.setAtIndex(F32, at, Math.fma(c.getAtIndex(F32, at), beta, sum));
        }
    }
}
