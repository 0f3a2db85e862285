package dev.tessera.examples.cli;

import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.nn.peft.Ia3Config;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.nn.peft.TargetModules;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.QuantMemory;
import dev.tessera.quant.QuantType;
import dev.tessera.quant.QuantizedModels;
import dev.tessera.training.LineChart;
import dev.tessera.training.Trainer;
import dev.tessera.training.TrainingArguments;
import dev.tessera.training.data.Example;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera demo}: the main job on an embedded default, the notebook's method comparison in
 * miniature. A small GPT-2 is pre-trained from scratch on generated sequences that count by 1
 * (mod 64); that base model is then fine-tuned to count by 3 with full fine-tuning, LoRA, QLoRA
 * (NF4 + double quantization under LoRA) and IA3. The runs are compared in one table (trainable
 * parameters, weight bytes, losses, time per step) and their loss curves drawn in one PNG.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Pre-train a small GPT-2 on generated data, then compare full fine-tuning, LoRA, QLoRA and IA3 on a new task.")
public final class DemoCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--output", defaultValue = "runs/demo", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--steps", defaultValue = "120", description = "Optimizer steps per run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    static final int VOCAB = 64;

    static ModelConfig config() {
        return ModelConfig.parse("""
                {"model_type": "gpt2", "vocab_size": 64, "n_positions": 64, "n_embd": 64, "n_layer": 2, "n_head": 4,
                 "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
                 "attn_pdrop": 0.0, "bos_token_id": 0, "eos_token_id": 0}""", "the demo's built-in config");
    }

    /** start, start+stride, start+2·stride, ... (mod 64): each token follows from the one before. */
    static List<Example> sequences(int count, int stride, Rng rng) {
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int len = 16 + (int) Math.floorMod(rng.nextLong(), 17);
            int start = (int) Math.floorMod(rng.nextLong(), VOCAB);
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = Math.floorMod(start + t * stride, VOCAB);
            }
            out.add(new Example(ids, ids.clone()));
        }
        return out;
    }

    /** One row of the comparison table. */
    record Row(String method, long trainable, long total, long weightBytes, List<Double> losses, double evalLoss,
               double secondsPerStep) {}

    @Override
    public Integer call() {
        common.apply();
        if (steps < 1) {
            throw new UsageException("--steps must be >= 1");
        }
        Rng rng = new Rng(seed);
        List<Example> baseTask = sequences(256, 1, rng);
        List<Example> train = sequences(256, 3, rng);
        List<Example> eval = sequences(32, 3, rng);
        System.out.printf(Locale.ROOT, "Tessera demo: pre-train a 2-layer GPT-2 to count by 1 (mod %d), then fine-tune it to count by 3%n", VOCAB);
        System.out.printf(Locale.ROOT, "with full fine-tuning, LoRA, QLoRA and IA3 (%d steps each, batch 8, AdamW). Outputs: %s%n", steps, output);

        Path baseDir = output.resolve("base");
        CausalLM pretrained = CausalLM.create(config(), seed);
        Row base = run("pretrain", pretrained, pretrained, pretrained::loss, pretrained::save, baseTask, sequences(32, 1, rng),
                baseDir, 3e-3);
        System.err.printf(Locale.ROOT, "base model: loss %.3f on counting by 1%n", base.evalLoss);

        List<Row> rows = new ArrayList<>();
        CausalLM full = CausalLM.load(baseDir);
        full.requiresGrad(true);
        rows.add(run("full", full, full, full::loss, full::save, train, eval, output.resolve("full"), 1e-3));
        rows.add(peftRun("lora", CausalLM.load(baseDir), false, lora(), train, eval));
        rows.add(peftRun("qlora", CausalLM.load(baseDir), true, lora(), train, eval));
        rows.add(peftRun("ia3", CausalLM.load(baseDir), false, Ia3Config.defaults().withBaseModelNameOrPath(baseDir.toString()), train, eval));

        printTable(rows);
        LineChart chart = new LineChart("Tessera demo: fine-tuning loss (count by 3)", "step", "loss");
        for (Row r : rows) {
            double[] x = new double[r.losses.size()], y = new double[r.losses.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = i + 1;
                y[i] = r.losses.get(i);
            }
            chart.series(r.method, x, y);
        }
        chart.writePng(output.resolve("loss.png"));
        System.out.println("loss curves: " + output.resolve("loss.png") + "; per run: metrics.jsonl, loss.png and the model or adapter under "
                + output + "/{full,lora,qlora,ia3}");
        return 0;
    }

    private LoraConfig lora() {
        return LoraConfig.defaults().withR(8).withLoraAlpha(16).withTargetModules(TargetModules.allLinear())
                .withBaseModelNameOrPath(output.resolve("base").toString());
    }

    private Row peftRun(String method, CausalLM base, boolean quantize, PeftConfig config, List<Example> train, List<Example> eval) {
        if (quantize) {
            QuantizedModels.quantize(base, new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F32, null));
        }
        long baseBytes = weightBytes(base);
        PeftModel peft = PeftModel.of(base, config);
        Row r = run(method, base, peft, peft::loss, peft::save, train, eval, output.resolve(method), 1e-2);
        long[] counts = peft.trainableParameterCounts(); // PEFT's way: a packed 4-bit byte holds two weights
        return new Row(method, counts[0], counts[1], baseBytes, r.losses, r.evalLoss, r.secondsPerStep);
    }

    private Row run(String method, CausalLM base, Module trained, Trainer.LossFunction loss, Trainer.ModelSaver saver,
                    List<Example> train, List<Example> eval, Path dir, double lr) {
        var args = new TrainingArguments(dir).learningRate(lr).maxSteps(steps).batchSize(8).loggingSteps(10).seed(seed);
        args.warmupSteps = Math.min(10, steps / 10);
        args.lrSchedulerType = "cosine";
        System.err.println("training: " + method);
        long weightBytes = weightBytes(base);
        long t0 = System.nanoTime();
        Trainer.TrainingResult result = new Trainer(trained, loss, saver, train, eval, 0, args, base.dropoutRng()).train();
        double secondsPerStep = (System.nanoTime() - t0) / 1e9 / steps;
        return new Row(method, trained.parameterCount(true), trained.parameterCount(false), weightBytes, result.stepLosses(),
                result.evalLoss(), secondsPerStep);
    }

    /** Bytes of the model's weights as stored: F32 tensors, or packed 4-bit codes + scales. */
    private static long weightBytes(CausalLM model) {
        if (QuantizedModels.quantizedLayers(model).isEmpty()) {
            long bytes = 0;
            for (Tensor t : model.parameters()) {
                bytes += t.numel() * t.dtype().byteSize();
            }
            return bytes;
        }
        QuantMemory.Report r = QuantMemory.report(model);
        return r.quantizedBytes() + r.otherBytes();
    }

    static void printTable(List<Row> rows) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-7s %11s %10s %13s %11s %11s %10s %8s%n", "method", "trainable", "trainable%",
                "base bytes", "first loss", "final loss", "eval loss", "s/step");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-7s %11s %9.2f%% %13s %11.4f %11.4f %10.4f %8.3f%n", r.method,
                    String.format(Locale.ROOT, "%,d", r.trainable), 100.0 * r.trainable / r.total,
                    String.format(Locale.ROOT, "%,d", r.weightBytes), r.losses.get(0), r.losses.get(r.losses.size() - 1),
                    r.evalLoss, r.secondsPerStep);
        }
        System.out.println();
    }
}
