package dev.tessera.examples.cli;

import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.examples.notebook.LoraAttention;
import dev.tessera.examples.notebook.LoraLayer;
import dev.tessera.examples.notebook.RankComparison;
import dev.tessera.examples.notebook.SimpleTrainingLoop;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera example NAME}: the notebook's programs ({@code dev.tessera.examples.notebook}), one subcommand each. */
@Command(name = "example", mixinStandardHelpOptions = true,
        description = "Run one of the notebook's programs: lora-layer, lora-attention, training-loop, rank-comparison.",
        subcommands = {ExampleCommand.LoraLayerExample.class, ExampleCommand.LoraAttentionExample.class,
            ExampleCommand.TrainingLoopExample.class, ExampleCommand.RankComparisonExample.class})
public final class ExampleCommand implements Runnable {
    @Override
    public void run() {
        throw new UsageException("example needs a name: lora-layer, lora-attention, training-loop or rank-comparison "
                + "(see 'tessera example --help')");
    }

    private static void positive(String flag, double value) {
        if (!(value > 0)) {
            throw new UsageException(flag + " must be > 0, got " + value);
        }
    }

    @Command(name = "lora-layer", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "A frozen in x out weight plus LoRA's B·A: parameter counts, then merging for inference.")
    static final class LoraLayerExample implements Callable<Integer> {
        @Mixin
        CommonOptions common;

        @Option(names = "--in", defaultValue = "4096", description = "Input features.")
        int in;

        @Option(names = "--out", defaultValue = "4096", description = "Output features.")
        int out;

        @Option(names = "--r", defaultValue = "8", description = "LoRA rank.")
        int r;

        @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (scaling alpha/r).")
        double alpha;

        @Override
        public Integer call() {
            common.apply();
            positive("--in", in);
            positive("--out", out);
            positive("--r", r);
            positive("--alpha", alpha);
            LoraLayer.run(in, out, r, alpha);
            return 0;
        }
    }

    @Command(name = "lora-attention", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "An attention block with LoRA on chosen projections: counts per projection, then merging.")
    static final class LoraAttentionExample implements Callable<Integer> {
        @Mixin
        CommonOptions common;

        @Option(names = "--d-model", defaultValue = "1024", description = "Width of the block.")
        int dModel;

        @Option(names = "--heads", defaultValue = "8", description = "Attention heads (must divide --d-model).")
        int heads;

        @Option(names = "--r", defaultValue = "8", description = "LoRA rank.")
        int r;

        @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (scaling alpha/r).")
        double alpha;

        @Option(names = "--projections", defaultValue = "q,v", split = ",", paramLabel = "q,k,v,o", description = "Projections that get LoRA.")
        List<String> projections;

        @Override
        public Integer call() {
            common.apply();
            positive("--d-model", dModel);
            positive("--heads", heads);
            positive("--r", r);
            positive("--alpha", alpha);
            if (dModel % heads != 0) {
                throw new UsageException("--heads " + heads + " must divide --d-model " + dModel);
            }
            for (String p : projections) {
                if (!List.of("q", "k", "v", "o").contains(p.strip())) {
                    throw new UsageException("--projections: expected some of q, k, v, o; got '" + p + "'");
                }
            }
            LoraAttention.run(dModel, heads, r, alpha, projections);
            return 0;
        }
    }

    @Command(name = "training-loop", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "A training loop written with the library directly (no Trainer): mean loss per epoch and its PNG.")
    static final class TrainingLoopExample implements Callable<Integer> {
        @Mixin
        CommonOptions common;

        @Option(names = "--epochs", defaultValue = "5", description = "Passes over the 64 rows.")
        int epochs;

        @Option(names = "--output", defaultValue = "runs/notebook/simple-loop-loss.png", paramLabel = "PNG", description = "The loss curve.")
        Path output;

        @Override
        public Integer call() {
            common.apply();
            positive("--epochs", epochs);
            SimpleTrainingLoop.run(epochs, output);
            return 0;
        }
    }

    @Command(name = "rank-comparison", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "LoRA's rank r: trainable parameters of one weight per rank, then the same small model tuned at each rank.")
    static final class RankComparisonExample implements Callable<Integer> {
        @Mixin
        CommonOptions common;

        @Option(names = "--ranks", defaultValue = "1,2,4,8,16", split = ",", paramLabel = "r1,r2,...", description = "Ranks to compare.")
        int[] ranks;

        @Option(names = "--steps", defaultValue = "40", description = "Training steps per rank.")
        int steps;

        @Option(names = "--d-model", defaultValue = "4096", description = "Width of the weight in the parameter table.")
        int dModel;

        @Override
        public Integer call() {
            common.apply();
            for (int r : ranks) {
                positive("--ranks", r);
            }
            positive("--steps", steps);
            positive("--d-model", dModel);
            RankComparison.run(ranks, steps, dModel);
            return 0;
        }
    }
}
