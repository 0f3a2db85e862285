package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.floats;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VecMathTest {
    private static float lane0(FloatVector v) {
        return v.lane(0);
    }

    @Test
    void expIsAccurateAndTheVectorAndScalarFormsAgreeBitwise() {
        qt().withExamples(3000).forAll(floats().between(-100f, 100f)).checkAssert(x -> {
            float v = lane0(VecMath.exp(FloatVector.broadcast(CpuBackend.F, x)));
            assertEquals(Float.floatToIntBits(VecMath.exp(x)), Float.floatToIntBits(v), "x=" + x);
            double ref = Math.exp(x);
            if (ref > Float.MIN_NORMAL && ref < Float.MAX_VALUE) {
                assertEquals(ref, v, 3 * Math.ulp((float) ref), "exp(" + x + ")");
            }
        });
        assertEquals(Float.POSITIVE_INFINITY, VecMath.exp(100f));
        assertEquals(0f, VecMath.exp(-100f));
        assertEquals(1f, VecMath.exp(0f));
    }

    @Test
    void tanhIsAccurateAndTheVectorAndScalarFormsAgreeBitwise() {
        qt().withExamples(3000).forAll(floats().between(-20f, 20f)).checkAssert(x -> {
            float v = lane0(VecMath.tanh(FloatVector.broadcast(CpuBackend.F, x)));
            assertEquals(Float.floatToIntBits(VecMath.tanh(x)), Float.floatToIntBits(v), "x=" + x);
            double ref = Math.tanh(x);
            assertEquals(ref, v, 4 * Math.ulp((float) ref) + 1e-9, "tanh(" + x + ")");
        });
    }
}
