package dev.tessera.training;

import dev.tessera.core.TesseraException;
import java.nio.file.Path;

/**
 * The Trainer's settings, named and defaulted as Hugging Face's {@code TrainingArguments}
 * (camel-cased): {@code learningRate} 5e-5, {@code numTrainEpochs} 3, {@code lrSchedulerType}
 * "linear", {@code maxGradNorm} 1.0 (0 turns clipping off), {@code weightDecay} 0,
 * {@code optim} "adamw", {@code loggingSteps} 10, {@code seed} 42. Set fields directly or chain
 * the setters:
 *
 * <pre>{@code
 * var args = new TrainingArguments(Path.of("out")).learningRate(2e-4).maxSteps(100).batchSize(4);
 * }</pre>
 */
public final class TrainingArguments {
    public Path outputDir;
    public double numTrainEpochs = 3;
    /** Overrides epochs when > 0. */
    public long maxSteps = -1;
    public int perDeviceTrainBatchSize = 8;
    public int perDeviceEvalBatchSize = 8;
    public int gradientAccumulationSteps = 1;
    public double learningRate = 5e-5;
    public double weightDecay = 0;
    public double adamBeta1 = 0.9, adamBeta2 = 0.999, adamEpsilon = 1e-8;
    public double maxGradNorm = 1.0;
    public String lrSchedulerType = "linear";
    public long warmupSteps = 0;
    public double warmupRatio = 0;
    /** adamw, sgd, adamw8bit, paged-adamw, paged-adamw8bit */
    public String optim = "adamw";
    public long loggingSteps = 10;
    /** 0: evaluate only at the end */
    public long evalSteps = 0;
    /** 0: no intermediate checkpoints */
    public long saveSteps = 0;
    public int saveTotalLimit = 0;
    public long seed = 42;
    public boolean shuffle = true;
    public boolean bf16;
    public boolean fp16;
    public boolean gradientCheckpointing;
    /** FP16 dynamic loss scaling: the starting scale (halved on overflow, doubled after 2000 good steps). */
    public double fp16InitialLossScale = 65536;
    /** Fast-tier budget of paged optimizers in bytes. */
    public long pagedFastBudgetBytes = 256L << 20;
    /** A checkpoint folder to continue from. */
    public Path resumeFromCheckpoint;
    /** The run's name in charts (Hugging Face's run_name); null: the output folder's name. */
    public String runName;
    /** A logarithmic loss axis in loss.png. */
    public boolean lossChartLogScale;
    /**
     * What a checkpoint's run was (e.g. the command line's method, rank, data file, batch size),
     * stored in trainer_state.json as "run" so a resume of a different run can be refused early.
     */
    public java.util.Map<String, String> runDescription = java.util.Map.of();
    /** Progress bar on stderr. */
    public boolean progress = true;

    public TrainingArguments(Path outputDir) {
        this.outputDir = outputDir;
    }

    public TrainingArguments learningRate(double v) {
        learningRate = v;
        return this;
    }

    public TrainingArguments maxSteps(long v) {
        maxSteps = v;
        return this;
    }

    public TrainingArguments epochs(double v) {
        numTrainEpochs = v;
        return this;
    }

    public TrainingArguments batchSize(int v) {
        perDeviceTrainBatchSize = v;
        perDeviceEvalBatchSize = v;
        return this;
    }

    public TrainingArguments gradientAccumulationSteps(int v) {
        gradientAccumulationSteps = v;
        return this;
    }

    public TrainingArguments optim(String v) {
        optim = v;
        return this;
    }

    public TrainingArguments loggingSteps(long v) {
        loggingSteps = v;
        return this;
    }

    public TrainingArguments saveSteps(long v) {
        saveSteps = v;
        return this;
    }

    public TrainingArguments seed(long v) {
        seed = v;
        return this;
    }

    public TrainingArguments shuffle(boolean v) {
        shuffle = v;
        return this;
    }

    public TrainingArguments maxGradNorm(double v) {
        maxGradNorm = v;
        return this;
    }

    public TrainingArguments scheduler(String v) {
        lrSchedulerType = v;
        return this;
    }

    public TrainingArguments warmupSteps(long v) {
        warmupSteps = v;
        return this;
    }

    public TrainingArguments weightDecay(double v) {
        weightDecay = v;
        return this;
    }

    public TrainingArguments resumeFrom(Path checkpoint) {
        resumeFromCheckpoint = checkpoint;
        return this;
    }

    /** The name charts show: {@link #runName}, else the output folder's name. */
    public String runName() {
        return runName != null ? runName : outputDir.toAbsolutePath().normalize().getFileName() == null ? "run"
                : outputDir.toAbsolutePath().normalize().getFileName().toString();
    }

    public TrainingArguments runName(String v) {
        runName = v;
        return this;
    }

    public TrainingArguments progress(boolean v) {
        progress = v;
        return this;
    }

    /** Rejects impossible combinations with a one-line error naming the field. */
    public void validate() {
        if (outputDir == null) {
            throw new TesseraException("training: outputDir is required");
        }
        check(perDeviceTrainBatchSize >= 1, "per_device_train_batch_size must be >= 1");
        check(gradientAccumulationSteps >= 1, "gradient_accumulation_steps must be >= 1");
        check(learningRate >= 0, "learning_rate must be >= 0");
        check(maxSteps > 0 || numTrainEpochs > 0, "set max_steps > 0 or num_train_epochs > 0");
        check(maxGradNorm >= 0, "max_grad_norm must be >= 0");
        check(warmupRatio >= 0 && warmupRatio <= 1, "warmup_ratio must be in [0, 1]");
        check(!(bf16 && fp16), "bf16 and fp16 cannot both be on");
        check(loggingSteps >= 1, "logging_steps must be >= 1");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new TesseraException("training arguments: " + message);
        }
    }
}
