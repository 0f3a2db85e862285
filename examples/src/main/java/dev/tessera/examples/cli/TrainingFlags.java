package dev.tessera.examples.cli;

import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.training.TrainingArguments;
import dev.tessera.training.optim.OptimizerType;
import dev.tessera.training.optim.SchedulerType;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code train}'s Trainer flags. Each flag's setter writes straight into {@link #args} (Hugging
 * Face's TrainingArguments names), so nothing is copied field by field after parsing;
 * {@link #validate} then checks the values in the flags' own words.
 */
final class TrainingFlags {
    /** Filled while picocli parses; {@code train} adds the output folder, run name and run description. */
    final TrainingArguments args = new TrainingArguments(null);

    @Option(names = "--optimizer", defaultValue = "adamw", converter = NamedValues.Optimizers.class,
            paramLabel = "adamw|sgd|adamw8bit|paged-adamw|paged-adamw8bit",
            description = "Optimizer; the 8-bit ones keep AdamW's state in 8 bits, the paged ones page large state tensors to disk.")
    void optimizer(OptimizerType v) {
        args.optim(v);
    }

    @Option(names = "--lr", defaultValue = "5e-5", description = "Peak learning rate.")
    void lr(double v) {
        args.learningRate(v);
    }

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (not on biases and norms).")
    void weightDecay(double v) {
        args.weightDecay(v);
    }

    @Option(names = "--betas", defaultValue = "0.9,0.999", split = ",", paramLabel = "b1,b2", description = "Adam betas.")
    double[] betas;

    @Option(names = "--eps", defaultValue = "1e-8", description = "Adam epsilon.")
    void eps(double v) {
        args.adamEpsilon(v);
    }

    @Option(names = "--epochs", defaultValue = "3", description = "Passes over the data (unless --max-steps is set).")
    void epochs(double v) {
        args.numTrainEpochs(v);
    }

    @Option(names = "--max-steps", defaultValue = "-1", description = "Optimizer steps; overrides --epochs when > 0.")
    void maxSteps(long v) {
        args.maxSteps(v);
    }

    @Option(names = "--batch-size", defaultValue = "8", description = "Examples per micro-batch.")
    void batchSize(int v) {
        args.batchSize(v);
    }

    @Option(names = "--grad-accum", defaultValue = "1", description = "Micro-batches per optimizer step (gradient accumulation).")
    void gradAccum(int v) {
        args.gradientAccumulationSteps(v);
    }

    @Option(names = "--warmup-steps", defaultValue = "0", description = "Steps of linear learning-rate warm-up.")
    void warmupSteps(long v) {
        args.warmupSteps(v);
    }

    @Option(names = "--scheduler", defaultValue = "linear", converter = NamedValues.Schedulers.class, paramLabel = "constant|linear|cosine",
            description = "Learning-rate decay after warm-up.")
    void scheduler(SchedulerType v) {
        args.lrSchedulerType(v);
    }

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Clip the gradient norm to this; 0 turns clipping off.")
    void maxGradNorm(double v) {
        args.maxGradNorm(v);
    }

    @Option(names = "--bf16", description = "BF16 matrix products with F32 master weights. Default: off.")
    void bf16(boolean v) {
        args.bf16(v);
    }

    @Option(names = "--fp16", description = "F16 matrix products with dynamic loss scaling. Default: off.")
    void fp16(boolean v) {
        args.fp16(v);
    }

    @Option(names = "--gradient-checkpointing", description = "Recompute each block in backward to save memory. Default: off.")
    void gradientCheckpointing(boolean v) {
        args.gradientCheckpointing(v);
    }

    @Option(names = "--logging-steps", defaultValue = "10", description = "Write a metrics.jsonl line every N steps.")
    void loggingSteps(long v) {
        args.loggingSteps(v);
    }

    @Option(names = "--save-steps", defaultValue = "0", description = "Checkpoint every N steps (0: none).")
    void saveSteps(long v) {
        args.saveSteps(v);
    }

    @Option(names = "--save-total-limit", defaultValue = "0", description = "Keep only the newest N checkpoints (0: all).")
    void saveTotalLimit(int v) {
        args.saveTotalLimit(v);
    }

    @Option(names = "--eval-steps", defaultValue = "0", description = "Also evaluate every N steps (needs --eval-data; 0: only at the end).")
    void evalSteps(long v) {
        args.evalSteps(v);
    }

    @Option(names = "--resume", paramLabel = "DIR", description = "A checkpoint folder (OUTPUT/checkpoint-N) of the same run to continue from. Default: none.")
    void resume(Path v) {
        args.resumeFromCheckpoint(v);
    }

    @Option(names = "--no-shuffle", description = "Take the data in file order. Default: shuffled each epoch.")
    void noShuffle(boolean v) {
        args.shuffle(!v);
    }

    @Option(names = "--seed", defaultValue = "42", description = "Seed of initialisation, dropout and shuffling.")
    void seed(long v) {
        args.seed(v);
    }

    @Option(names = "--log-scale-loss", description = "Draw loss.png with a logarithmic loss axis. Default: off.")
    void logScaleLoss(boolean v) {
        args.lossChartLogScale(v);
    }

    /** Checks every value, naming the flag; sets Adam's betas. */
    void validate() {
        require(betas.length == 2, "--betas: expected b1,b2, got " + betas.length + " numbers");
        require(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1,
                "--betas must each be in [0, 1), got " + betas[0] + "," + betas[1]);
        args.adamBetas(betas[0], betas[1]);
        require(args.perDeviceTrainBatchSize() >= 1, "--batch-size must be >= 1, got " + args.perDeviceTrainBatchSize());
        require(args.gradientAccumulationSteps() >= 1, "--grad-accum must be >= 1, got " + args.gradientAccumulationSteps());
        require(args.learningRate() >= 0, "--lr must be >= 0, got " + args.learningRate());
        require(args.adamEpsilon() > 0, "--eps must be > 0, got " + args.adamEpsilon());
        require(args.weightDecay() >= 0, "--weight-decay must be >= 0, got " + args.weightDecay());
        require(args.maxSteps() > 0 || args.numTrainEpochs() > 0, "set --max-steps > 0 or --epochs > 0");
        require(args.warmupSteps() >= 0, "--warmup-steps must be >= 0, got " + args.warmupSteps());
        require(args.maxGradNorm() >= 0, "--max-grad-norm must be >= 0 (0 turns clipping off), got " + args.maxGradNorm());
        require(args.loggingSteps() >= 1, "--logging-steps must be >= 1, got " + args.loggingSteps());
        require(args.saveSteps() >= 0, "--save-steps must be >= 0, got " + args.saveSteps());
        require(args.saveTotalLimit() >= 0, "--save-total-limit must be >= 0, got " + args.saveTotalLimit());
        require(args.evalSteps() >= 0, "--eval-steps must be >= 0, got " + args.evalSteps());
        require(!(args.bf16() && args.fp16()), "--bf16 and --fp16 cannot both be on");
    }

    static void require(boolean ok, String message) {
        if (!ok) {
            throw new UsageException(message);
        }
    }
}
