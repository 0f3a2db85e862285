package dev.tessera.training;

import dev.tessera.core.TesseraException;
import dev.tessera.training.optim.OptimizerType;
import dev.tessera.training.optim.SchedulerType;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * The Trainer's settings, named and defaulted as Hugging Face's {@code TrainingArguments}
 * (camel-cased): {@code learningRate} 5e-5, {@code numTrainEpochs} 3, {@code lrSchedulerType}
 * linear, {@code maxGradNorm} 1.0 (0 turns clipping off), {@code weightDecay} 0, {@code optim}
 * adamw, {@code loggingSteps} 10, {@code seed} 42. One style: {@code name(value)} sets and returns
 * this, {@code name()} reads.
 *
 * <pre>{@code
 * var args = new TrainingArguments(Path.of("out")).learningRate(2e-4).maxSteps(100).batchSize(4)
 *         .optim(OptimizerType.PAGED_ADAMW_8BIT).lrSchedulerType(SchedulerType.COSINE);
 * }</pre>
 */
public final class TrainingArguments {
    private Path outputDir;
    private double numTrainEpochs = 3;
    private long maxSteps = -1;
    private int perDeviceTrainBatchSize = 8;
    private int perDeviceEvalBatchSize = 8;
    private int gradientAccumulationSteps = 1;
    private double learningRate = 5e-5;
    private double weightDecay = 0;
    private double adamBeta1 = 0.9, adamBeta2 = 0.999;
    private double adamEpsilon = 1e-8;
    private double maxGradNorm = 1.0;
    private SchedulerType lrSchedulerType = SchedulerType.LINEAR;
    private long warmupSteps = 0;
    private double warmupRatio = 0;
    private OptimizerType optim = OptimizerType.ADAMW;
    private long loggingSteps = 10;
    private long evalSteps = 0;
    private long saveSteps = 0;
    private int saveTotalLimit = 0;
    private long seed = 42;
    private boolean shuffle = true;
    private boolean bf16 = false;
    private boolean fp16 = false;
    private boolean gradientCheckpointing = false;
    private double fp16InitialLossScale = 65536;
    private long pagedFastBudgetBytes = 256L << 20;
    private Path resumeFromCheckpoint;
    private boolean lossChartLogScale = false;
    private Map<String, String> runDescription = Map.of();
    private boolean progress = true;
    private String runName;

    public TrainingArguments(Path outputDir) {
        this.outputDir = outputDir;
    }

    /** Where metrics.jsonl, loss.png, checkpoints and the trained model go. */
    public Path outputDir() {
        return outputDir;
    }

    public TrainingArguments outputDir(Path v) {
        outputDir = v;
        return this;
    }

    /** Passes over the data (unless {@link #maxSteps} is set). */
    public double numTrainEpochs() {
        return numTrainEpochs;
    }

    public TrainingArguments numTrainEpochs(double v) {
        numTrainEpochs = v;
        return this;
    }

    /** Optimizer steps; overrides epochs when > 0. */
    public long maxSteps() {
        return maxSteps;
    }

    public TrainingArguments maxSteps(long v) {
        maxSteps = v;
        return this;
    }

    /** Examples per micro-batch on each rank. */
    public int perDeviceTrainBatchSize() {
        return perDeviceTrainBatchSize;
    }

    public TrainingArguments perDeviceTrainBatchSize(int v) {
        perDeviceTrainBatchSize = v;
        return this;
    }

    /** Examples per evaluation batch on each rank. */
    public int perDeviceEvalBatchSize() {
        return perDeviceEvalBatchSize;
    }

    public TrainingArguments perDeviceEvalBatchSize(int v) {
        perDeviceEvalBatchSize = v;
        return this;
    }

    /** Sets the train and the eval batch size. */
    public TrainingArguments batchSize(int v) {
        perDeviceTrainBatchSize = v;
        perDeviceEvalBatchSize = v;
        return this;
    }

    /** Micro-batches per optimizer step. */
    public int gradientAccumulationSteps() {
        return gradientAccumulationSteps;
    }

    public TrainingArguments gradientAccumulationSteps(int v) {
        gradientAccumulationSteps = v;
        return this;
    }

    /** Peak learning rate. */
    public double learningRate() {
        return learningRate;
    }

    public TrainingArguments learningRate(double v) {
        learningRate = v;
        return this;
    }

    /** AdamW weight decay (not on biases and norms). */
    public double weightDecay() {
        return weightDecay;
    }

    public TrainingArguments weightDecay(double v) {
        weightDecay = v;
        return this;
    }

    public double adamBeta1() {
        return adamBeta1;
    }

    public double adamBeta2() {
        return adamBeta2;
    }

    /** Adam's betas. */
    public TrainingArguments adamBetas(double beta1, double beta2) {
        adamBeta1 = beta1;
        adamBeta2 = beta2;
        return this;
    }

    /** Adam epsilon. */
    public double adamEpsilon() {
        return adamEpsilon;
    }

    public TrainingArguments adamEpsilon(double v) {
        adamEpsilon = v;
        return this;
    }

    /** Clip the global gradient norm to this; 0 turns clipping off. */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    public TrainingArguments maxGradNorm(double v) {
        maxGradNorm = v;
        return this;
    }

    /** Learning-rate decay after warm-up. */
    public SchedulerType lrSchedulerType() {
        return lrSchedulerType;
    }

    public TrainingArguments lrSchedulerType(SchedulerType v) {
        lrSchedulerType = v;
        return this;
    }

    /** Steps of linear warm-up; 0 uses {@link #warmupRatio}. */
    public long warmupSteps() {
        return warmupSteps;
    }

    public TrainingArguments warmupSteps(long v) {
        warmupSteps = v;
        return this;
    }

    /** Warm-up as a share of the run's steps, when {@link #warmupSteps} is 0. */
    public double warmupRatio() {
        return warmupRatio;
    }

    public TrainingArguments warmupRatio(double v) {
        warmupRatio = v;
        return this;
    }

    /** The optimizer. */
    public OptimizerType optim() {
        return optim;
    }

    public TrainingArguments optim(OptimizerType v) {
        optim = v;
        return this;
    }

    /** A metrics.jsonl line every N steps (and at the last step). */
    public long loggingSteps() {
        return loggingSteps;
    }

    public TrainingArguments loggingSteps(long v) {
        loggingSteps = v;
        return this;
    }

    /** Evaluate every N steps; 0: only at the end. */
    public long evalSteps() {
        return evalSteps;
    }

    public TrainingArguments evalSteps(long v) {
        evalSteps = v;
        return this;
    }

    /** Checkpoint every N steps; 0: no intermediate checkpoints. */
    public long saveSteps() {
        return saveSteps;
    }

    public TrainingArguments saveSteps(long v) {
        saveSteps = v;
        return this;
    }

    /** Keep only the newest N checkpoints; 0 keeps all. */
    public int saveTotalLimit() {
        return saveTotalLimit;
    }

    public TrainingArguments saveTotalLimit(int v) {
        saveTotalLimit = v;
        return this;
    }

    /** Seed of shuffling. */
    public long seed() {
        return seed;
    }

    public TrainingArguments seed(long v) {
        seed = v;
        return this;
    }

    /** Reshuffle the data every epoch (else file order). */
    public boolean shuffle() {
        return shuffle;
    }

    public TrainingArguments shuffle(boolean v) {
        shuffle = v;
        return this;
    }

    /** BF16 matrix products with F32 master weights. */
    public boolean bf16() {
        return bf16;
    }

    public TrainingArguments bf16(boolean v) {
        bf16 = v;
        return this;
    }

    /** F16 matrix products with dynamic loss scaling. */
    public boolean fp16() {
        return fp16;
    }

    public TrainingArguments fp16(boolean v) {
        fp16 = v;
        return this;
    }

    /** Recompute each transformer block in backward. */
    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    public TrainingArguments gradientCheckpointing(boolean v) {
        gradientCheckpointing = v;
        return this;
    }

    /** FP16 dynamic loss scaling: the starting scale (halved on overflow, doubled after 2000 good steps). */
    public double fp16InitialLossScale() {
        return fp16InitialLossScale;
    }

    public TrainingArguments fp16InitialLossScale(double v) {
        fp16InitialLossScale = v;
        return this;
    }

    /** Fast-tier budget of paged optimizers in bytes. */
    public long pagedFastBudgetBytes() {
        return pagedFastBudgetBytes;
    }

    public TrainingArguments pagedFastBudgetBytes(long v) {
        pagedFastBudgetBytes = v;
        return this;
    }

    /** A checkpoint folder to continue from; null starts afresh. */
    public Path resumeFromCheckpoint() {
        return resumeFromCheckpoint;
    }

    public TrainingArguments resumeFromCheckpoint(Path v) {
        resumeFromCheckpoint = v;
        return this;
    }

    /** A logarithmic loss axis in loss.png. */
    public boolean lossChartLogScale() {
        return lossChartLogScale;
    }

    public TrainingArguments lossChartLogScale(boolean v) {
        lossChartLogScale = v;
        return this;
    }

    /** What a checkpoint's run was (e.g. the command line's method, rank, data file, batch size), stored in trainer_state.json as "run" so a resume of a different run can be refused early. */
    public Map<String, String> runDescription() {
        return runDescription;
    }

    public TrainingArguments runDescription(Map<String, String> v) {
        runDescription = v;
        return this;
    }

    /** A progress bar on stderr. */
    public boolean progress() {
        return progress;
    }

    public TrainingArguments progress(boolean v) {
        progress = v;
        return this;
    }

    /** The name charts show (Hugging Face's {@code run_name}): as set, else the output folder's name. */
    public String runName() {
        if (runName != null) {
            return runName;
        }
        Path name = outputDir.toAbsolutePath().normalize().getFileName();
        return name == null ? "run" : name.toString();
    }

    public TrainingArguments runName(String v) {
        runName = v;
        return this;
    }

    /** Rejects impossible combinations with a one-line error naming the field. */
    public void validate() {
        if (outputDir == null) {
            throw new TesseraException("training: outputDir is required");
        }
        check(perDeviceTrainBatchSize >= 1, "per_device_train_batch_size must be >= 1");
        check(perDeviceEvalBatchSize >= 1, "per_device_eval_batch_size must be >= 1");
        check(gradientAccumulationSteps >= 1, "gradient_accumulation_steps must be >= 1");
        check(learningRate >= 0, "learning_rate must be >= 0");
        check(maxSteps > 0 || numTrainEpochs > 0, "set max_steps > 0 or num_train_epochs > 0");
        check(maxGradNorm >= 0, "max_grad_norm must be >= 0");
        check(warmupRatio >= 0 && warmupRatio <= 1, "warmup_ratio must be in [0, 1]");
        check(!(bf16 && fp16), "bf16 and fp16 cannot both be on");
        check(loggingSteps >= 1, "logging_steps must be >= 1");
        check(optim != null && lrSchedulerType != null, "optim and lr_scheduler_type must be set");
        Objects.requireNonNull(runDescription, "runDescription");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new TesseraException("training arguments: " + message);
        }
    }
}
