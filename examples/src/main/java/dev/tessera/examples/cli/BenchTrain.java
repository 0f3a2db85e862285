package dev.tessera.examples.cli;

import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.QuantType;
import dev.tessera.quant.QuantizedModels;
import dev.tessera.training.optim.AdamW;
import dev.tessera.training.optim.ParamGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera bench train}: times optimizer steps (forward, backward, AdamW) on random tokens;
 * prints {@code {"method","median_step_s","tokens_per_s","peak_rss_bytes","steps"}}.
 */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Time training steps on random tokens (AdamW); one JSON line.")
public final class BenchTrain implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model folder to time.")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "full|lora|qlora", description = "What to train.")
    String method;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--target-modules", split = ",", paramLabel = "a,b", description = "Modules to adapt (default: PEFT's per architecture).")
    List<String> targetModules;

    @Option(names = "--batch-size", required = true, description = "Rows per step.")
    int batchSize;

    @Option(names = "--seq-len", required = true, description = "Tokens per row (random ids).")
    int seqLen;

    @Option(names = "--steps", required = true, description = "Timed steps.")
    int steps;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the random tokens (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        common.apply();
        if (batchSize < 1 || seqLen < 2 || steps < 1 || warmup < 0 || r < 1) {
            throw new UsageException("need --batch-size >= 1, --seq-len >= 2, --steps >= 1, --warmup >= 0, --r >= 1");
        }
        CausalLM base = ModelFolders.load(model);
        if (seqLen > base.config().maxPositions()) {
            throw new UsageException("--seq-len " + seqLen + " exceeds the model's " + base.config().maxPositions() + " positions");
        }
        Module trained;
        BiFunction<Tensor, Tensor, Tensor> loss;
        switch (method) {
            case "full" -> {
                base.requiresGrad(true);
                trained = base;
                loss = base::loss;
            }
            case "lora", "qlora" -> {
                if (method.equals("qlora") && QuantizedModels.quantizedLayers(base).isEmpty()) {
                    QuantizedModels.quantize(base, new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F32, null));
                }
                LoraConfig c = LoraConfig.defaults().withR(r).withLoraAlpha(2.0 * r);
                PeftModel peft = PeftModel.of(base, targetModules == null ? c : c.withTargetModules(targetModules.toArray(String[]::new)));
                trained = peft;
                loss = peft::loss;
            }
            default -> throw new UsageException("--method: expected full, lora or qlora, got '" + method + "'");
        }
        trained.train(true);
        AdamW opt = new AdamW(ParamGroup.all(trained.trainableParameters(), 0.0), 1e-4);
        Rng rng = new Rng(seed);
        int vocab = base.config().vocabSize();
        double[] times = new double[steps];
        for (int s = -warmup; s < steps; s++) {
            long t0 = System.nanoTime();
            try (var scope = Scope.open()) {
                Tensor ids = rng.randint(vocab, batchSize, seqLen);
                loss.apply(ids, ids).backward();
                opt.step();
                opt.zeroGrad();
            }
            if (s >= 0) {
                times[s] = (System.nanoTime() - t0) / 1e9;
            }
            System.err.printf(Locale.ROOT, "bench train: step %d/%d%n", s + warmup + 1, steps + warmup);
        }
        double[] sorted = times.clone();
        Arrays.sort(sorted);
        double median = steps % 2 == 1 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2;
        System.out.printf(Locale.ROOT, "{\"method\": \"%s\", \"median_step_s\": %.6f, \"tokens_per_s\": %.1f, \"peak_rss_bytes\": %d, \"steps\": %d}%n",
                method, median, batchSize * (double) seqLen / median, peakRssBytes(), steps);
        return 0;
    }

    /** VmHWM of this process from /proc (Linux), or -1 elsewhere. */
    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
