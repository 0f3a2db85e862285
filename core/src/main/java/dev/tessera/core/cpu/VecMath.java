package dev.tessera.core.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp and tanh on float vectors from plain IEEE arithmetic (Cephes' expf polynomial), with a
 * scalar twin that performs the same operations in the same order. The Vector API's own
 * lanewise EXP/TANH are computed by a native math library once compiled but by Math.* in the
 * interpreter, so their results would depend on JIT warm-up; these do not, which keeps
 * training runs bitwise reproducible (resume, paged vs unpaged). Accurate to about 2 ulp.
 */
final class VecMath {
    private static final VectorSpecies<Float> F = CpuBackend.F;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float C1 = 0.693359375f;
    private static final float C2 = -2.12194440e-4f;
    private static final float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f,
            P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;
    private static final float MAX_X = 88.72283935546875f;
    private static final float MIN_X = -87.3365447504019f;

    private VecMath() {}

    static FloatVector exp(FloatVector x) {
        VectorMask<Float> over = x.compare(VectorOperators.GT, MAX_X);
        VectorMask<Float> under = x.compare(VectorOperators.LT, MIN_X);
        VectorMask<Float> nan = x.test(VectorOperators.IS_NAN);
        FloatVector xc = x.max(MIN_X).min(MAX_X);
        // n = floor(x·log2e + 0.5), via truncation corrected for negatives
        FloatVector y = xc.mul(LOG2E).add(0.5f);
        IntVector ni = (IntVector) y.convert(VectorOperators.F2I, 0);
        FloatVector n = (FloatVector) ni.convert(VectorOperators.I2F, 0);
        VectorMask<Float> tooBig = n.compare(VectorOperators.GT, y);
        n = n.sub(1f, tooBig);
        ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        FloatVector r = xc.sub(n.mul(C1)).sub(n.mul(C2));
        FloatVector r2 = r.mul(r);
        FloatVector p = r.mul(P0).add(P1).mul(r).add(P2).mul(r).add(P3).mul(r).add(P4).mul(r).add(P5);
        p = p.mul(r2).add(r).add(1f);
        // 2^n as two factors 2^(n>>1)·2^(n−(n>>1)), each a normal float even for n = 128
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector pow2a = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector pow2b = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = p.mul(pow2a).mul(pow2b);
        result = result.blend(Float.POSITIVE_INFINITY, over).blend(0f, under);
        return result.blend(x, nan);
    }

    static float exp(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        if (x > MAX_X) {
            return Float.POSITIVE_INFINITY;
        }
        if (x < MIN_X) {
            return 0f;
        }
        float y = x * LOG2E + 0.5f;
        float n = (int) y;
        if (n > y) {
            n = n - 1f;
        }
        int ni = (int) n;
        float r = x - n * C1 - n * C2;
        float r2 = r * r;
        float p = ((((r * P0 + P1) * r + P2) * r + P3) * r + P4) * r + P5;
        p = p * r2 + r + 1f;
        int half = ni >> 1;
        return p * Float.intBitsToFloat((half + 127) << 23) * Float.intBitsToFloat((ni - half + 127) << 23);
    }

    private static final float T0 = -5.70498872745E-3f, T1 = 2.06390887954E-2f, T2 = -5.37397300355E-2f,
            T3 = 1.33314422036E-1f, T4 = -3.33332819422E-1f;

    /** tanh: Cephes' odd polynomial below |x| = 0.625, else sign(x)·(1 − 2/(exp(2|x|) + 1)). */
    static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector e = exp(ax.mul(2f));
        FloatVector big = FloatVector.broadcast(F, 1f).sub(FloatVector.broadcast(F, 2f).div(e.add(1f)));
        big = big.blend(big.neg(), x.compare(VectorOperators.LT, 0f));
        FloatVector z = x.mul(x);
        FloatVector small = z.mul(T0).add(T1).mul(z).add(T2).mul(z).add(T3).mul(z).add(T4).mul(z).mul(x).add(x);
        return big.blend(small, ax.compare(VectorOperators.LT, 0.625f)).blend(x, x.test(VectorOperators.IS_NAN));
    }

    static float tanh(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        float ax = Math.abs(x);
        if (ax < 0.625f) {
            float z = x * x;
            return ((((z * T0 + T1) * z + T2) * z + T3) * z + T4) * z * x + x;
        }
        float e = exp(ax * 2f);
        float t = 1f - 2f / (e + 1f);
        return x < 0 ? -t : t;
    }
}
