package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vectorised loops over one contiguous F32 row (byte offsets), shared by the row kernels. */
final class Rows {
    private static final VectorSpecies<Float> F = CpuBackend.F;
    private static final int L = CpuBackend.L;
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private Rows() {}

    /**
     * Sum of the lanes in lane order. reduceLanes(ADD) leaves the order unspecified, and the JIT's
     * intrinsic and the interpreter's fallback differ, which would make results depend on warm-up.
     */
    static float sumLanes(FloatVector v) {
        float r = 0;
        for (int i = 0; i < L; i++) {
            r += v.lane(i);
        }
        return r;
    }

    static float sum(MemorySegment s, long off, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = acc.add(FloatVector.fromMemorySegment(F, s, off + i * 4L, NATIVE));
        }
        float r = sumLanes(acc);
        for (; i < n; i++) {
            r += s.get(FL, off + i * 4L);
        }
        return r;
    }

    static float dot(MemorySegment a, long ao, MemorySegment b, long bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = FloatVector.fromMemorySegment(F, a, ao + i * 4L, NATIVE)
                    .fma(FloatVector.fromMemorySegment(F, b, bo + i * 4L, NATIVE), acc);
        }
        float r = sumLanes(acc);
        for (; i < n; i++) {
            r += a.get(FL, ao + i * 4L) * b.get(FL, bo + i * 4L);
        }
        return r;
    }

    static float sumSquaredDiff(MemorySegment s, long off, int n, float mean) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector d = FloatVector.fromMemorySegment(F, s, off + i * 4L, NATIVE).sub(mean);
            acc = d.fma(d, acc);
        }
        float r = sumLanes(acc);
        for (; i < n; i++) {
            float d = s.get(FL, off + i * 4L) - mean;
            r += d * d;
        }
        return r;
    }

    static float max(MemorySegment s, long off, int n) {
        float best = Float.NEGATIVE_INFINITY;
        boolean nan = false;
        int i = 0;
        if (n >= L) {
            FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i + L <= n; i += L) {
                FloatVector v = FloatVector.fromMemorySegment(F, s, off + i * 4L, NATIVE);
                nan |= v.test(jdk.incubator.vector.VectorOperators.IS_NAN).anyTrue();
                acc = acc.max(v);
            }
            best = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            float v = s.get(FL, off + i * 4L);
            nan |= Float.isNaN(v);
            best = Math.max(best, v);
        }
        return nan ? Float.NaN : best;
    }

    /** max(-x), so min(x) = -maxNeg(x). */
    static float maxNeg(MemorySegment s, long off, int n) {
        float best = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = -s.get(FL, off + i * 4L);
            if (Float.isNaN(v)) {
                return Float.NaN;
            }
            best = Math.max(best, v);
        }
        return best;
    }

    /** Index of the first maximum (NaN counts as the maximum, as PyTorch). */
    static long argmax(MemorySegment s, long off, int n) {
        float best = s.get(FL, off);
        long at = 0;
        if (Float.isNaN(best)) {
            return 0;
        }
        for (int i = 1; i < n; i++) {
            float v = s.get(FL, off + i * 4L);
            if (Float.isNaN(v)) {
                return i;
            }
            if (v > best) {
                best = v;
                at = i;
            }
        }
        return at;
    }

    /** log(sum(exp(x))) computed stably. */
    static float logSumExp(MemorySegment s, long off, int n) {
        float m = max(s, off, n);
        if (Float.isInfinite(m)) {
            return m;
        }
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + L <= n; i += L) {
            acc = acc.add(VecMath.exp(FloatVector.fromMemorySegment(F, s, off + i * 4L, NATIVE).sub(m)));
        }
        double sum = sumLanes(acc);
        for (; i < n; i++) {
            sum += VecMath.exp(s.get(FL, off + i * 4L) - m);
        }
        return (float) (m + Math.log(sum));
    }

    /** out = exp(x - shift) * scale. */
    static void expShiftScale(MemorySegment x, long xo, MemorySegment out, long oo, int n, float shift, float scale) {
        int i = 0;
        for (; i + L <= n; i += L) {
            VecMath.exp(FloatVector.fromMemorySegment(F, x, xo + i * 4L, NATIVE).sub(shift)).mul(scale)
                    .intoMemorySegment(out, oo + i * 4L, NATIVE);
        }
        for (; i < n; i++) {
            out.set(FL, oo + i * 4L, VecMath.exp(x.get(FL, xo + i * 4L) - shift) * scale);
        }
    }

    /** Row softmax (or log-softmax) of x into out. */
    static void softmax(MemorySegment x, long xo, MemorySegment out, long oo, int n, boolean log) {
        float m = max(x, xo, n);
        if (log) {
            float lse = logSumExp(x, xo, n);
            int i = 0;
            for (; i + L <= n; i += L) {
                FloatVector.fromMemorySegment(F, x, xo + i * 4L, NATIVE).sub(lse).intoMemorySegment(out, oo + i * 4L, NATIVE);
            }
            for (; i < n; i++) {
                out.set(FL, oo + i * 4L, x.get(FL, xo + i * 4L) - lse);
            }
            return;
        }
        if (m == Float.NEGATIVE_INFINITY) {
            // every entry masked: PyTorch yields NaN rows; keep that behaviour visible
            for (int i = 0; i < n; i++) {
                out.set(FL, oo + i * 4L, Float.NaN);
            }
            return;
        }
        expShiftScale(x, xo, out, oo, n, m, 1f);
        float inv = 1f / sum(out, oo, n);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromMemorySegment(F, out, oo + i * 4L, NATIVE).mul(inv).intoMemorySegment(out, oo + i * 4L, NATIVE);
        }
        for (; i < n; i++) {
            out.set(FL, oo + i * 4L, out.get(FL, oo + i * 4L) * inv);
        }
    }

    /** dst[i] += src[i]. */
    static void addInto(MemorySegment src, long so, MemorySegment dst, long dso, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromMemorySegment(F, dst, dso + i * 4L, NATIVE)
                    .add(FloatVector.fromMemorySegment(F, src, so + i * 4L, NATIVE))
                    .intoMemorySegment(dst, dso + i * 4L, NATIVE);
        }
        for (; i < n; i++) {
            dst.set(FL, dso + i * 4L, dst.get(FL, dso + i * 4L) + src.get(FL, so + i * 4L));
        }
    }

    /** out[i] = sum over parts of part[i], in part order (deterministic). */
    static void writeSum(float[][] parts, MemorySegment out, long oo, int n) {
        for (int i = 0; i < n; i++) {
            float s = 0;
            for (float[] p : parts) {
                s += p[i];
            }
            out.set(FL, oo + i * 4L, s);
        }
    }
}
