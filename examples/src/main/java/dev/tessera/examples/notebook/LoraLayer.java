package dev.tessera.examples.notebook;

import dev.tessera.core.Autograd;
import dev.tessera.core.OpStats;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Linear;
import dev.tessera.nn.peft.LoraLinear;
import java.util.Locale;

/**
 * The notebook's standalone LoRA layer: a frozen {@code in × out} weight plus a rank-r update
 * {@code B·A} scaled by {@code alpha / r}; the trainable share of the parameters; and merging
 * the update into the weight for inference, after which the layer costs one matrix product
 * again.
 *
 * <pre>
 * ./tessera example lora-layer [--in 4096] [--out 4096] [--r 8] [--alpha 16]
 * </pre>
 */
public final class LoraLayer {
    private LoraLayer() {}

    /** Builds the layer, prints its parameter counts, merges it and prints the difference merging makes. */
    public static void run(int in, int out, int r, double alpha) {
        Linear base = new Linear(in, out, false, new Rng(0));
        LoraLinear lora = new LoraLinear(base, r, alpha, 0.0, new Rng(1)); // freezes the base

        long trainable = lora.parameterCount(true);
        long total = lora.parameterCount(false);
        long frozen = total - trainable;
        System.out.printf(Locale.ROOT, "LoRA layer: in=%d, out=%d, rank r=%d, alpha=%s, scaling alpha/r=%s%n", in, out, r, fmt(alpha),
                fmt(lora.scaling("default")));
        System.out.printf(Locale.ROOT, "  A: %s (kaiming-uniform), B: %s (zeros: the layer starts as the base)%n",
                java.util.Arrays.toString(lora.loraA("default").weight().shape()), java.util.Arrays.toString(lora.loraB("default").weight().shape()));
        System.out.printf(Locale.ROOT, "  frozen base:  %,d parameters%n", frozen);
        System.out.printf(Locale.ROOT, "  trainable:    %,d parameters (r·in + out·r)%n", trainable);
        System.out.printf(Locale.ROOT, "  total:        %,d parameters; trainable %.2f%% (%.2f%% of the base weight)%n", total,
                100.0 * trainable / total, 100.0 * trainable / frozen);

        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            // pretend training moved B off zero
            lora.loraB("default").weight().copyFrom(new Rng(2).normal(0f, 0.02f, out, r));
            Tensor x = new Rng(3).randn(4, in);
            long g0 = OpStats.gemmCalls();
            Tensor y = lora.forward(x);
            long unmergedGemms = OpStats.gemmCalls() - g0;
            lora.merge();
            long g1 = OpStats.gemmCalls();
            Tensor merged = lora.forward(x);
            long mergedGemms = OpStats.gemmCalls() - g1;
            float[] a = y.toFloatArray(), b = merged.toFloatArray();
            double err = 0;
            for (int i = 0; i < a.length; i++) {
                err = Math.max(err, Math.abs(a[i] - b[i]));
            }
            System.out.printf(Locale.ROOT, "merge for inference: W += %s * B·A%n", fmt(lora.scaling("default")));
            System.out.printf(Locale.ROOT, "  matrix products per forward: %d unmerged, %d merged%n", unmergedGemms, mergedGemms);
            System.out.printf(Locale.ROOT, "  max |y_merged - y_lora| = %.3g%n", err);
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
