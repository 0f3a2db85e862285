package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Gradcheck's verdict itself: a wrong backward rule is caught and reported, a stale gradient on an
 * input does not leak into the check, inputs without gradients are skipped, and only contiguous
 * F32 leaves are perturbed.
 */
class GradcheckVerdictTest {
    private static final double EPS = 1e-2, ATOL = 1e-3, RTOL = 1e-2;

    private static Tensor input() {
        return Tensor.of(new float[] {0.5f, -1.25f, 2f, 0.75f, -0.3f}, 5).requiresGrad(true);
    }

    @Test
    void aCorrectRuleIsAcceptedEvenWithAStaleGradientOnTheInput() {
        Tensor x = input();
        x.setGrad(Tensor.full(100, DType.F32, Device.CPU, 5)); // left over from an earlier backward
        Gradcheck.Result r = Gradcheck.check(in -> in[0].mul(in[0]), new Tensor[] {x}, EPS, ATOL, RTOL);
        assertTrue(r.ok(), r.worst());
        // x² is exact in its central difference up to F32 rounding
        assertTrue(r.maxAbsError() < 1e-3, "max error " + r.maxAbsError());
        assertTrue(r.maxRelError() < 1e-2, "max relative error " + r.maxRelError());
    }

    @Test
    void aWrongRuleIsCaughtAndTheWorstElementNamed() {
        Tensor x = input();
        // forward 2x, backward claims 3 g
        Gradcheck.Result r = Gradcheck.check(
                in -> Autograd.record("wrong", in[0].detach().mul(2f), g -> new Tensor[] {g.mul(3f)}, in[0]),
                new Tensor[] {x}, EPS, ATOL, RTOL);
        assertFalse(r.ok());
        // the analytic gradient is 3 r, the numeric one 2 r: the error is |r| of the projection's Gaussian weights
        Rng rng = new Rng(12345);
        double maxR = 0;
        int worst = 0;
        for (int i = 0; i < 5; i++) {
            double g = Math.abs((float) rng.nextGaussian());
            if (g > maxR) {
                maxR = g;
                worst = i;
            }
        }
        assertEquals(maxR, r.maxAbsError(), 1e-2 * maxR);
        assertTrue(r.worst().startsWith("input 0 element " + worst + ":"), r.worst());
        assertEquals(0.5, r.maxRelError(), 0.05, "|3r - 2r| / |2r|");
    }

    @Test
    void anErrorWithinTheRelativeToleranceOfALargeGradientIsAccepted() {
        // forward 100 x, backward 100.5 g: each error is 0.5 % of its numeric gradient, inside rtol = 1 %
        // though far outside atol; 0.5 % more (backward 101.5 g) is outside both
        Tensor x = input();
        assertTrue(Gradcheck.check(
                in -> Autograd.record("close", in[0].detach().mul(100f), g -> new Tensor[] {g.mul(100.5f)}, in[0]),
                new Tensor[] {x}, EPS, ATOL, RTOL).ok());
        assertFalse(Gradcheck.check(
                in -> Autograd.record("far", in[0].detach().mul(100f), g -> new Tensor[] {g.mul(101.5f)}, in[0]),
                new Tensor[] {x}, EPS, ATOL, RTOL).ok());
    }

    @Test
    void inputsWithoutGradientsAreSkippedAndUnusedOnesGetZero() {
        Tensor x = input(), c = Tensor.of(new float[] {1, 2, 3, 4, 5}, 5), unused = input();
        Gradcheck.Result r = Gradcheck.check(in -> in[0].mul(in[1]), new Tensor[] {x, c, unused}, EPS, ATOL, RTOL);
        assertTrue(r.ok(), r.worst());
        // a strided constant is fine: it is never perturbed
        Tensor strided = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 2).narrow(1, 0, 1).squeeze(1);
        assertTrue(Gradcheck.check(in -> in[0].mul(in[1]), new Tensor[] {x, strided}, EPS, ATOL, RTOL).ok());
    }

    @Test
    void onlyContiguousF32LeavesArePerturbed() {
        Tensor strided = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2).t().requiresGrad(true);
        TesseraException e = assertThrows(TesseraException.class,
                () -> Gradcheck.check(in -> in[0].mul(2f), new Tensor[] {strided}, EPS, ATOL, RTOL));
        assertTrue(e.getMessage().contains("input 0 must be a contiguous F32 leaf"), e.getMessage());
    }
}
