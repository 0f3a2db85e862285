package dev.tessera.examples.bench;

import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.Linear4bit;
import dev.tessera.quant.QuantMemory;
import dev.tessera.quant.QuantType;
import dev.tessera.quant.QuantizedModels;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * {@link Linear4bit} against an F32 {@link Linear} of the same shape, in the same run (best of the repetitions): forward
 * time, and forward + input-gradient time (the 4-bit layer decodes its weight tile by tile both
 * ways; the F32 layer's weight is frozen too, so neither computes a weight gradient). Shapes are
 * GPT-2 small's (768 wide) at {@code tokens} rows. With {@code gpt2} it also builds a randomly
 * initialised GPT-2 small, quantizes it and prints {@link QuantMemory#report}.
 *
 * <pre>
 * ./tessera bench linear4bit [--tokens 512] [--repeat 10] [--gpt2]
 * </pre>
 */
public final class Linear4bitBenchmark {
    private Linear4bitBenchmark() {}

    /** Prints the comparison table (and with {@code gpt2} the quantized GPT-2 small's memory report). */
    public static void run(int tokens, int reps, boolean gpt2) {
        System.out.printf("Linear4bit (NF4, blocksize 64, double quant) vs F32 Linear, %d threads, best of %d%n",
                Backends.cpuThreads(), reps);
        System.out.printf("  %-22s %-10s %12s %12s %8s %14s %14s %8s%n", "shape [out, in]", "tokens",
                "f32 fwd ms", "4bit fwd ms", "ratio", "f32 fwd+bwd ms", "4bit fwd+bwd", "ratio");
        int[][] shapes = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}};
        for (int m : new int[] {1, tokens}) {
            for (int[] s : shapes) {
                compare(s[0], s[1], m, reps);
            }
        }
        if (gpt2) {
            gpt2Memory();
        }
    }

    private static void compare(int out, int in, int m, int reps) {
        Linear dense = new Linear(in, out, true, new Rng(1));
        dense.requiresGrad(false);
        Linear4bit q = Linear4bit.quantize(dense, QuantType.NF4, 64, true, DType.F32);
        try {
            Tensor x = Scope.unowned(() -> new Rng(2).normal(0f, 1f, m, in));
            double f32 = best(reps, () -> dense.forward(x));
            double four = best(reps, () -> q.forward(x));
            x.requiresGrad(true);
            double f32b = best(reps, () -> backward(dense, x));
            double fourb = best(reps, () -> backward(q, x));
            x.requiresGrad(false);
            x.release();
            System.out.printf("  %-22s %-10d %12.3f %12.3f %7.2fx %14.3f %14.3f %7.2fx%n", Arrays.toString(new int[] {out, in}),
                    m, f32 * 1e3, four * 1e3, four / f32, f32b * 1e3, fourb * 1e3, fourb / f32b);
        } finally {
            q.release();
            dense.release();
        }
    }

    private static Tensor backward(LinearLayer layer, Tensor x) {
        layer.forward(x).sum().backward();
        Tensor g = x.grad();
        x.zeroGrad();
        return g;
    }

    private static double best(int reps, Supplier<Tensor> body) {
        for (int i = 0; i < 3; i++) {
            try (var scope = Scope.open()) {
                body.get();
            }
        }
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            try (var scope = Scope.open()) {
                long start = System.nanoTime();
                body.get();
                t[i] = (System.nanoTime() - start) / 1e9;
            }
        }
        Arrays.sort(t);
        return t[0];
    }

    /** GPT-2 small (124M) at random init, quantized as QLoRA does it, measured. */
    private static void gpt2Memory() {
        CausalLM model = CausalLM.create(ModelConfig.parse("{\"model_type\": \"gpt2\"}", "gpt2 defaults"), 0);
        try {
            QuantizedModels.quantize(model, BitsAndBytesConfig.qlora());
            System.out.println("GPT-2 small (124M), NF4 + double quantization, lm_head (tied to wte) kept:");
            System.out.print(QuantMemory.report(model).toText());
        } finally {
            model.release();
        }
    }
}
