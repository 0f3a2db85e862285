package dev.tessera.examples.notebook;

import dev.tessera.core.Autograd;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Attention;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.peft.LoraLinear;
import java.util.List;
import java.util.Locale;

/**
 * The notebook's attention block with LoRA on chosen projections: four {@code d × d}
 * projections {@code q_proj, k_proj, v_proj, o_proj} around causal multi-head attention, LoRA
 * on the ones named (q and v by default, as in the LoRA paper and PEFT's Llama default); prints
 * each projection's trainable and frozen counts and the block's trainable share, then checks
 * that the merged block gives the same output.
 *
 * <pre>
 * ./tessera example lora-attention [--d-model 1024] [--heads 8] [--r 8] [--alpha 16] [--projections q,v]
 * ./tessera example lora-attention --d-model 4096 --heads 32 --projections q,k,v,o
 * </pre>
 */
public final class LoraAttention {
    private LoraAttention() {}

    /** {@code x [B, T, d] -> [B, T, d]}: projections looked up by name, so LoRA wrappers take their place. */
    static final class AttentionBlock extends Module {
        private final int heads;

        AttentionBlock(int d, int heads, Rng rng) {
            this.heads = heads;
            for (String p : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
                addModule(p, new Linear(d, d, false, rng));
            }
        }

        // x (B, T, d) -> (B, T, d)
        Tensor forward(Tensor x) {
            int b = x.size(0), t = x.size(1), d = x.size(2), hd = d / heads;
            Tensor q = proj("q_proj", x).reshape(b, t, heads, hd).permute(0, 2, 1, 3).mul((float) (1 / Math.sqrt(hd)));
            Tensor k = proj("k_proj", x).reshape(b, t, heads, hd).permute(0, 2, 1, 3);
            Tensor v = proj("v_proj", x).reshape(b, t, heads, hd).permute(0, 2, 1, 3);
            Tensor y = Attention.scaledDotProduct(q, k, v, Attention.causalMask(t, t, 0), null); // (B, H, T, hd)
            return proj("o_proj", y.permute(0, 2, 1, 3).reshape(b, t, d));
        }

        private Tensor proj(String name, Tensor x) {
            return child(name, LinearLayer.class).forward(x);
        }
    }

    /** Puts LoRA on the {@code chosen} projections (q, k, v, o) of a {@code d}-wide block, prints the counts, merges and compares. */
    public static void run(int d, int heads, int r, double alpha, List<String> chosen) {
        AttentionBlock block = new AttentionBlock(d, heads, new Rng(0));
        block.requiresGrad(false);
        Rng rng = new Rng(1);
        for (String c : chosen) {
            String name = c.trim() + "_proj";
            block.setSubmodule(name, new LoraLinear((LinearLayer) block.getSubmodule(name), r, alpha, 0.0, rng));
        }

        System.out.printf(Locale.ROOT, "attention block: d_model=%d, heads=%d; LoRA r=%d, alpha=%s (scaling %.2f) on %s%n", d, heads, r,
                alpha == Math.rint(alpha) ? Long.toString((long) alpha) : Double.toString(alpha), alpha / r, chosen);
        for (String p : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
            Module m = block.getSubmodule(p);
            System.out.printf(Locale.ROOT, "  %-7s %-6s trainable %,10d   frozen %,12d%n", p, m instanceof LoraLinear ? "LoRA" : "frozen",
                    m.parameterCount(true), m.parameterCount(false) - m.parameterCount(true));
        }
        long trainable = block.parameterCount(true), total = block.parameterCount(false);
        System.out.printf(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f%n", trainable, total, 100.0 * trainable / total);

        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            for (String c : chosen) { // pretend training moved B off zero
                LoraLinear l = (LoraLinear) block.getSubmodule(c.trim() + "_proj");
                l.loraB("default").weight().copyFrom(new Rng(2).normal(0f, 0.02f, d, r));
            }
            Tensor x = new Rng(3).randn(1, 16, d);
            float[] y = block.forward(x).toFloatArray();
            for (String c : chosen) {
                ((LoraLinear) block.getSubmodule(c.trim() + "_proj")).merge();
            }
            float[] merged = block.forward(x).toFloatArray();
            double err = 0;
            for (int i = 0; i < y.length; i++) {
                err = Math.max(err, Math.abs(y[i] - merged[i]));
            }
            System.out.printf(Locale.ROOT, "merged for inference: max |diff| over a [1, 16, %d] input = %.3g%n", d, err);
        }
    }
}
