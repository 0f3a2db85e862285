package dev.tessera.examples.cli;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.CachingAllocator;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
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
import dev.tessera.training.MemoryUsage;
import dev.tessera.training.optim.AdamW;
import dev.tessera.training.optim.ParamGroup;
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

    @Option(names = "--method", required = true, converter = NamedValues.MeasuredMethods.class, paramLabel = "full|lora|qlora",
            description = "What to train.")
    TrainMethod method;

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

    @Option(names = "--gradient-checkpointing", description = "Recompute each block in backward to save memory.")
    boolean gradientCheckpointing;

    @Mixin
    TorchDtypeOption torchDtype;

    /** The model being timed: what is trained (the base, or its PEFT wrapper) and its loss. */
    private record Timed(CausalLM base, Module trained, BiFunction<Tensor, Tensor, Tensor> loss) {}

    @Override
    public Integer call() {
        Device device = common.device();
        if (batchSize < 1 || seqLen < 2 || steps < 1 || warmup < 0 || r < 1) {
            throw new UsageException("need --batch-size >= 1, --seq-len >= 2, --steps >= 1, --warmup >= 0, --r >= 1");
        }
        Timed timed = load(device);
        timed.trained().to(device);
        timed.trained().train(true);
        AdamW opt = new AdamW(ParamGroup.all(timed.trained().trainableParameters(), 0.0), 1e-4);
        Rng rng = new Rng(seed);
        int vocab = timed.base().config().vocabSize();
        BiFunction<Tensor, Tensor, Tensor> loss = timed.loss();
        double[] times = new double[steps];
        Backend backend = Backends.of(device);
        CachingAllocator allocator = Backends.cpuAllocator();
        long flops0 = 0, hits0 = 0, misses0 = 0;
        for (int s = -warmup; s < steps; s++) {
            if (s == 0) {
                flops0 = backend.matmulFlops();
                hits0 = allocator.hits();
                misses0 = allocator.misses();
            }
            long t0 = System.nanoTime();
            try (var scope = Scope.open()) {
                Tensor ids = rng.randint(vocab, batchSize, seqLen).to(device);
                Tensor l = loss.apply(ids, ids);
                l.backward();
                opt.step();
                opt.zeroGrad();
                l.item();   // the step's one synchronisation: a GPU step is timed when it is done
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (s >= 0) {
                times[s] = seconds;
            }
            System.err.printf(Locale.ROOT, "bench train: step %d/%d (%s) %.3f s%n", s + warmup + 1, steps + warmup,
                    s < 0 ? "warm-up" : "timed", seconds);
        }
        double[] sorted = times.clone();
        Arrays.sort(sorted);
        double median = steps % 2 == 1 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2;
        String extra = counters(device, backend, allocator, steps, median, flops0, hits0, misses0);
        System.out.printf(Locale.ROOT, "{\"method\": \"%s\", \"median_step_s\": %.6f, \"min_step_s\": %.6f, \"max_step_s\": %.6f, "
                + "\"tokens_per_s\": %.1f, \"peak_rss_bytes\": %d, \"peak_live_bytes\": %d, \"steps\": %d, \"warmup\": %d%s}%n",
                method, median, sorted[0], sorted[steps - 1], batchSize * (double) seqLen / median,
                MemoryUsage.peakRssBytes(), MemoryUsage.peakLiveBytes(), steps, warmup, extra);
        return 0;
    }

    private Timed load(Device device) {
        CausalLM base = switch (method) {
            case FULL -> ModelFolders.load(model, device);
            case QLORA -> ModelFolders.loadIn4bit(model, new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F32, null), torchDtype.dtype(), device);
            case LORA -> ModelFolders.loadFrozen(model, torchDtype.dtype(), device);
            default -> throw new IllegalStateException("--method's converter admits full, lora and qlora only");
        };
        base.setGradientCheckpointing(gradientCheckpointing);
        if (seqLen > base.config().maxPositions()) {
            throw new UsageException("--seq-len " + seqLen + " exceeds the model's " + base.config().maxPositions() + " positions");
        }
        if (method == TrainMethod.FULL) {
            base.requiresGrad(true);
            return new Timed(base, base, base::loss);
        }
        LoraConfig c = LoraConfig.defaults().withR(r).withLoraAlpha(2.0 * r);
        PeftModel peft = PeftModel.of(base, targetModules == null ? c : c.withTargetModules(targetModules.toArray(String[]::new)));
        return new Timed(base, peft, peft::loss);
    }

    /** The step's achieved GFLOP/s (and share of the CPU's FMA peak) and the allocator's hit rate, as extra JSON fields. */
    private static String counters(Device device, Backend backend, CachingAllocator allocator, int steps, double median,
                                   long flops0, long hits0, long misses0) {
        StringBuilder extra = new StringBuilder();
        long flops = backend.matmulFlops() - flops0;
        if (backend.matmulFlops() >= 0) {
            double gflops = flops / (double) steps / median / 1e9;
            extra.append(String.format(Locale.ROOT, ", \"matmul_gflop_per_step\": %.2f, \"achieved_gflops\": %.1f",
                    flops / (double) steps / 1e9, gflops));
            if (device.isCpu()) {
                double peak = Backends.cpuPeakGflops();
                extra.append(String.format(Locale.ROOT, ", \"peak_gflops\": %.1f, \"share_of_peak\": %.3f", peak, gflops / peak));
            }
        }
        if (device.isCpu()) {
            long hits = allocator.hits() - hits0, misses = allocator.misses() - misses0;
            extra.append(String.format(Locale.ROOT, ", \"allocator_hit_rate\": %.4f",
                    hits + misses == 0 ? 1.0 : hits / (double) (hits + misses)));
        }
        return extra.toString();
    }
}
