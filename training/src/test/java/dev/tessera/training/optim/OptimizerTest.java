package dev.tessera.training.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.core.Autograd;
import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each optimizer against the update rule computed by hand (in double) for three steps. */
class OptimizerTest {
    private static final float[] GRADS = {0.5f, -1.5f, 2.0f};

    /** One parameter [2] with gradient GRADS[step] * (1, -2) at each step. */
    private static Tensor gradAt(int step) {
        return Tensor.of(new float[] {GRADS[step], -2 * GRADS[step]}, 2);
    }

    private static List<ParamGroup> group(Tensor p, double wd) {
        return List.of(new ParamGroup(List.of("w"), List.of(p), wd));
    }

    @Test
    void adamwMatchesTheHandComputedUpdate() {
        double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
        Tensor p = Tensor.of(new float[] {1f, -3f}, 2).requiresGrad(true);
        AdamW opt = new AdamW(group(p, wd), lr, b1, b2, eps);
        double[] w = {1, -3}, m = new double[2], v = new double[2];
        for (int t = 1; t <= 3; t++) {
            p.setGrad(gradAt(t - 1));
            opt.step();
            for (int i = 0; i < 2; i++) {
                double g = (i == 0 ? 1 : -2) * GRADS[t - 1];
                w[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                w[i] -= lr * (m[i] / (1 - Math.pow(b1, t))) / (Math.sqrt(v[i] / (1 - Math.pow(b2, t))) + eps);
            }
            float[] got = p.toFloatArray();
            assertEquals(w[0], got[0], 1e-6, "step " + t);
            assertEquals(w[1], got[1], 1e-6, "step " + t);
        }
    }

    @Test
    void sgdWithMomentumMatchesTheHandComputedUpdate() {
        for (boolean nesterov : new boolean[] {false, true}) {
            double lr = 0.1, mom = 0.9, wd = 0.05;
            Tensor p = Tensor.of(new float[] {1f, -3f}, 2).requiresGrad(true);
            Sgd opt = new Sgd(group(p, wd), lr, mom, 0, nesterov);
            double[] w = {1, -3}, buf = new double[2];
            for (int t = 0; t < 3; t++) {
                p.setGrad(gradAt(t));
                opt.step();
                for (int i = 0; i < 2; i++) {
                    double g = (i == 0 ? 1 : -2) * GRADS[t] + wd * w[i];
                    buf[i] = t == 0 ? g : mom * buf[i] + g;
                    double d = nesterov ? g + mom * buf[i] : buf[i];
                    w[i] -= lr * d;
                }
                float[] got = p.toFloatArray();
                assertEquals(w[0], got[0], 1e-5, "nesterov=" + nesterov + " step " + t);
                assertEquals(w[1], got[1], 1e-5, "nesterov=" + nesterov + " step " + t);
            }
        }
    }

    @Test
    void plainSgdStepsAgainstTheGradient() {
        Tensor p = Tensor.of(new float[] {1f, 1f}, 2).requiresGrad(true);
        Sgd opt = new Sgd(group(p, 0), 0.5);
        p.setGrad(Tensor.of(new float[] {2f, -2f}, 2));
        opt.step();
        assertEquals(0f, p.toFloatArray()[0]);
        assertEquals(2f, p.toFloatArray()[1]);
    }

    @Test
    void noDecayOnBiasesAndNormsByDefault() {
        Tensor w = Tensor.zeros(2, 2).requiresGrad(true), b = Tensor.zeros(2).requiresGrad(true);
        Tensor ln = Tensor.ones(2).requiresGrad(true), frozen = Tensor.zeros(2, 2);
        var groups = ParamGroup.decayAllButBiasesAndNorms(
                new java.util.LinkedHashMap<>(Map.of("h.0.mlp.weight", w, "h.0.mlp.bias", b, "h.0.ln_1.weight", ln, "frozen.weight", frozen)), 0.1);
        assertEquals(2, groups.size());
        assertEquals(List.of("h.0.mlp.weight"), groups.get(0).names());
        assertEquals(0.1, groups.get(0).weightDecay());
        assertEquals(0.0, groups.get(1).weightDecay());
        assertEquals(2, groups.get(1).params().size());
    }

    @Test
    void schedulesFollowHuggingFace() {
        LrSchedule lin = LrSchedule.linear(2, 10);
        assertEquals(0.0, lin.factor(0));
        assertEquals(0.5, lin.factor(1));
        assertEquals(1.0, lin.factor(2));
        assertEquals(0.5, lin.factor(6), 1e-12);
        assertEquals(0.0, lin.factor(10));
        LrSchedule cos = LrSchedule.cosine(0, 10);
        assertEquals(1.0, cos.factor(0), 1e-12);
        assertEquals(0.5, cos.factor(5), 1e-12);
        assertEquals(1.0, LrSchedule.constant(0).factor(7));
    }

    @Test
    void clippingScalesToTheMaxGlobalNorm() {
        Tensor a = Tensor.zeros(2).requiresGrad(true), b = Tensor.zeros(1).requiresGrad(true);
        a.setGrad(Tensor.of(new float[] {3, 0}, 2));
        b.setGrad(Tensor.of(new float[] {4}, 1));
        double total = GradClipping.clipGradNorm(List.of(a, b), 1.0);
        assertEquals(5.0, total, 1e-6);
        assertEquals(0.6f, a.grad().toFloatArray()[0], 1e-6f);
        assertEquals(0.8f, b.grad().toFloatArray()[0], 1e-6f);
        double again = GradClipping.clipGradNorm(List.of(a, b), 10.0);
        assertEquals(1.0, again, 1e-5);
        assertEquals(0.6f, a.grad().toFloatArray()[0], 1e-6f, "below the max nothing changes");
    }

    @Test
    void adamwStateRoundTripsThroughItsStateDict() {
        Rng rng = new Rng(3);
        Tensor p1 = rng.randn(4).requiresGrad(true);
        Tensor p2 = Tensor.zeros(4).requiresGrad(true);
        try (var ng = Autograd.noGrad()) {
            p2.copyFrom(p1);
        }
        AdamW a = new AdamW(group(p1, 0.01), 0.01), b = new AdamW(group(p2, 0.01), 0.01);
        for (int t = 0; t < 3; t++) {
            p1.setGrad(rng.randn(4));
            a.step();
        }
        b.loadStateDict(a.stateDict());
        try (var ng = Autograd.noGrad()) {
            p2.copyFrom(p1);
        }
        p1.setGrad(Tensor.ones(4));
        p2.setGrad(Tensor.ones(4));
        a.step();
        b.step();
        float[] x = p1.toFloatArray(), y = p2.toFloatArray();
        for (int i = 0; i < 4; i++) {
            assertEquals(x[i], y[i], 0f);
        }
        assertEquals(32, a.stateBytes());
    }
}
