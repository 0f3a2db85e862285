package dev.tessera.examples.bench;

import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.QuantType;
import dev.tessera.quant.QuantizedModels;
import dev.tessera.training.optim.AdamW;
import dev.tessera.training.optim.AdamW8bit;
import dev.tessera.training.optim.PagedStateStore;
import dev.tessera.training.optim.ParamGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.BiFunction;

/**
 * Trains a GPT-2 for 10 steps on the CPU and on a CUDA device, the same weights, data and
 * hyper-parameters, for full fine-tuning (AdamW), LoRA (AdamW) and QLoRA (NF4 + double
 * quantization, paged 8-bit AdamW; r 128 so its LoRA matrices get 8-bit state), and compares the
 * losses: each must be within 1e-4 relative of the CPU's. Prints one line per method and a verdict;
 * exits 1 when a loss differs. The device is a GPU, or the emulated one
 * ({@code -Dtessera.cuda.emulator=PATH}). Only the engine is used (no CLI, charts or templates),
 * so it runs on the GPU check's minimal Java runtime.
 *
 * <pre>
 * java ... dev.tessera.examples.bench.DeviceTrainingCheck nn/src/test/resources/fixtures/gpt2-tiny [cuda]
 * </pre>
 */
public final class DeviceTrainingCheck {
    static final double TOLERANCE = 1e-4;
    static final int STEPS = 10;

    private DeviceTrainingCheck() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: DeviceTrainingCheck MODEL_DIR [cuda|cuda:N]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        Device device = Device.parse(args.length > 1 ? args[1] : "cuda");
        boolean ok = true;
        for (String method : List.of("full", "lora", "qlora")) {
            List<Double> cpu = train(model, method, Device.CPU);
            List<Double> gpu = train(model, method, device);
            double worst = worstRelative(cpu, gpu);
            boolean pass = worst <= TOLERANCE;
            ok &= pass;
            System.out.printf(Locale.ROOT, "%-5s %s: %d steps, max relative loss difference %.2e (cpu %s, %s %s)%n",
                    method, pass ? "PASS" : "FAIL", STEPS, worst, cpu, device, gpu);
        }
        System.out.println(ok ? "device training check: PASS" : "device training check: FAIL");
        if (!ok) {
            System.exit(1);
        }
    }

    /** The loss of each of 10 steps of {@code method} on {@code device}. */
    static List<Double> train(Path modelDir, String method, Device device) throws IOException {
        CausalLM base = CausalLM.load(modelDir);
        Module trained;
        BiFunction<Tensor, Tensor, Tensor> loss;
        if (method.equals("full")) {
            base.requiresGrad(true);
            trained = base;
            loss = base::loss;
        } else {
            int r = 8;
            if (method.equals("qlora")) {
                QuantizedModels.quantize(base, new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F32, null));
                r = 128;
            }
            PeftModel peft = PeftModel.of(base, LoraConfig.defaults().withR(r).withLoraAlpha(2.0 * r).withLoraDropout(0));
            trained = peft;
            loss = peft::loss;
        }
        trained.to(device);
        trained.train(true);
        List<ParamGroup> groups = ParamGroup.all(trained.trainableParameters(), 0.0);
        Path pages = Files.createTempDirectory("tessera-pages");
        List<Double> losses = new ArrayList<>();
        try (PagedStateStore store = new PagedStateStore(1 << 20, 2L << 20, pages)) {
            AdamW opt = method.equals("qlora")
                    ? new AdamW8bit(groups, 1e-3, 0.9, 0.999, 1e-8, store)
                    : new AdamW(groups, 1e-3);
            int vocab = base.config().vocabSize();
            Random rng = new Random(1);
            for (int step = 0; step < STEPS; step++) {
                int[] ids = new int[4 * 24];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = rng.nextInt(vocab);
                }
                try (var scope = Scope.open()) {
                    Tensor x = Tensor.ofInts(ids, 4, 24).to(device);
                    Tensor l = loss.apply(x, x);
                    l.backward();
                    opt.step();
                    opt.zeroGrad();
                    losses.add((double) l.item());
                }
            }
        } finally {
            Files.deleteIfExists(pages);
        }
        return losses;
    }

    static double worstRelative(List<Double> expected, List<Double> actual) {
        if (expected.size() != actual.size()) {
            return Double.POSITIVE_INFINITY;
        }
        double worst = 0;
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.get(i), g = actual.get(i);
            double rel = Math.abs(g - e) / Math.max(Math.abs(e), 1e-12);
            worst = Double.isNaN(rel) ? Double.POSITIVE_INFINITY : Math.max(worst, rel);
        }
        return worst;
    }
}
