package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.junit.jupiter.api.Test;

/**
 * The arithmetic of the FMA-peak kernel (its timing is not testable on a shared machine): twelve
 * chains of {@code a = a * 0.999999 + 1e-7} from 1, summed, against one chain in scalar
 * {@code Math.fma}. The result is what keeps the JIT from dropping the chains as dead code.
 */
class FmaPeakTest {

    /** n steps of one chain, summed over the 12 chains in order, then over the lanes. */
    private static float expected(long n) {
        float a = 1f;
        for (long i = 0; i < n; i++) {
            a = Math.fma(a, 0.999999f, 1e-7f);
        }
        float chains = a;
        for (int c = 1; c < 12; c++) {
            chains += a;
        }
        // every lane holds the same value; the lane sum is left to the same reduction the kernel uses
        return FloatVector.broadcast(VectorWidth.FLOATS, chains).reduceLanes(VectorOperators.ADD);
    }

    @Test
    void chainsComputeTwelveFmaChainsOfNStepsEach() {
        for (long n : new long[] {0, 1, 2, 3, 17, 1000, 100_000}) {
            assertEquals(expected(n), FmaPeak.chains(n), "n = " + n);
        }
        assertEquals(12f * VectorWidth.FLOATS.length(), FmaPeak.chains(0), "no step: every accumulator is 1");
    }
}
