package dev.tessera.examples.cli;

import dev.tessera.core.Rng;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
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
 * {@code tessera demo}: the main job on an embedded default. A small GPT-2 is trained on generated
 * "counting" sequences (each token is the previous one plus 3, mod 64); every method's run is
 * summarised in one table and its loss curve drawn in one PNG.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Train a small built-in GPT-2 on generated data and show its loss falling (outputs under --output).")
public final class DemoCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--output", defaultValue = "runs/demo", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--steps", defaultValue = "150", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
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

    /** Sequences start, start+stride, start+2·stride, ... (mod 64); every next token is predictable from the previous two. */
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
    record Row(String method, long trainable, long total, List<Double> losses, double evalLoss, double secondsPerStep) {}

    @Override
    public Integer call() {
        common.apply();
        if (steps < 1) {
            throw new UsageException("--steps must be >= 1");
        }
        Rng rng = new Rng(seed);
        List<Example> train = sequences(256, 3, rng);
        List<Example> eval = sequences(32, 3, rng);
        System.out.printf(Locale.ROOT, "Tessera demo: a %s on %d generated sequences (next token = previous + 3 mod %d), %d steps each%n",
                "2-layer GPT-2", train.size(), VOCAB, steps);

        List<Row> rows = new ArrayList<>();
        rows.add(run("full", CausalLM.create(config(), seed), train, eval, output.resolve("full")));
        printTable(rows);
        LineChart chart = new LineChart("Tessera demo: training loss", "step", "loss");
        for (Row r : rows) {
            double[] x = new double[r.losses.size()], y = new double[r.losses.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = i + 1;
                y[i] = r.losses.get(i);
            }
            chart.series(r.method, x, y);
        }
        chart.writePng(output.resolve("loss.png"));
        System.out.println("wrote " + output.resolve("loss.png") + " and per-method metrics.jsonl under " + output);
        return 0;
    }

    private Row run(String method, CausalLM model, List<Example> train, List<Example> eval, Path dir) {
        var args = new TrainingArguments(dir).learningRate(3e-3).maxSteps(steps).batchSize(8).loggingSteps(10).seed(seed);
        args.warmupSteps = Math.min(10, steps / 10);
        args.lrSchedulerType = "cosine";
        System.err.println("training: " + method);
        long t0 = System.nanoTime();
        Trainer trainer = new Trainer(model, model::loss, model::save, train, eval, 0, args, model.dropoutRng());
        Trainer.TrainingResult result = trainer.train();
        double secondsPerStep = (System.nanoTime() - t0) / 1e9 / steps;
        return new Row(method, model.parameterCount(true), model.parameterCount(false), result.stepLosses(),
                result.evalLoss(), secondsPerStep);
    }

    static void printTable(List<Row> rows) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-8s %12s %12s %11s %11s %10s %8s%n", "method", "trainable", "all params",
                "first loss", "final loss", "eval loss", "s/step");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-8s %12s %12s %11.4f %11.4f %10.4f %8.3f%n", r.method,
                    String.format(Locale.ROOT, "%,d", r.trainable), String.format(Locale.ROOT, "%,d", r.total),
                    r.losses.get(0), r.losses.get(r.losses.size() - 1), r.evalLoss, r.secondsPerStep);
        }
        System.out.println();
    }
}
