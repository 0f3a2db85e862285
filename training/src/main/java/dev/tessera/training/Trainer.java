package dev.tessera.training;

import dev.tessera.core.Autocast;
import dev.tessera.core.Autograd;
import dev.tessera.core.Collective;
import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.training.data.Batch;
import dev.tessera.training.data.DataLoader;
import dev.tessera.training.data.Example;
import dev.tessera.training.optim.AdamW;
import dev.tessera.training.optim.AdamW8bit;
import dev.tessera.training.optim.GradClipping;
import dev.tessera.training.optim.LrSchedule;
import dev.tessera.training.optim.Optimizer;
import dev.tessera.training.optim.PagedAdamW;
import dev.tessera.training.optim.PagedStateStore;
import dev.tessera.training.optim.ParamGroup;
import dev.tessera.training.optim.Sgd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Trains a model on SFT examples, like Hugging Face's {@code Trainer}: optimizer and schedule
 * from {@link TrainingArguments}, gradient accumulation (token-weighted, so it equals the large
 * batch), clipping, mixed precision, a progress bar on stderr, {@code metrics.jsonl},
 * {@code loss.png}, atomic checkpoints and exact resume.
 *
 * <pre>{@code
 * CausalLM model = CausalLM.load(Path.of("gpt2"));
 * Trainer trainer = new Trainer(model, model::loss, dir -> model.save(dir), train, eval, padId,
 *         new TrainingArguments(Path.of("out")).learningRate(1e-4).maxSteps(100));
 * TrainingResult result = trainer.train();
 * }</pre>
 *
 * The run is a short recipe: set up (loader, schedule, optimizer, resume from a
 * {@link Checkpointer checkpoint}), then per step train, log a {@link MetricsLine} to the
 * {@link MetricsLog}, evaluate and checkpoint as asked; then save the model and draw loss.png. A
 * checkpoint folder {@code checkpoint-N} holds the trained parameters, the optimizer state and
 * {@link TrainerState trainer_state.json}, so a resumed run continues with the same losses.
 */
public final class Trainer {
    /**
     * Mean loss over the labelled next-token predictions of a batch [B, T]. Batches of packed
     * rows (several examples per row, {@code --packing}) go to the four-argument overload,
     * which a model that keeps packed examples apart implements:
     *
     * <pre>{@code
     * Trainer.LossFunction loss = Trainer.LossFunction.withPacking(model::loss, model::loss);
     * }</pre>
     */
    @FunctionalInterface
    public interface LossFunction {
        Tensor loss(Tensor inputIds, Tensor labels);

        /**
         * The mean loss of packed rows: {@code positionIds} restart at 0 for every example,
         * {@code sequenceIds} give each token's example (-1 on padding); all [B, T], I64.
         */
        default Tensor loss(Tensor inputIds, Tensor labels, Tensor positionIds, Tensor sequenceIds) {
            throw new TesseraException("this model does not support packing (several examples per row); train without packing");
        }

        /** Plain batches to {@code plain}, packed ones to {@code packed}. */
        static LossFunction withPacking(LossFunction plain, PackedLossFunction packed) {
            return new LossFunction() {
                @Override
                public Tensor loss(Tensor inputIds, Tensor labels) {
                    return plain.loss(inputIds, labels);
                }

                @Override
                public Tensor loss(Tensor inputIds, Tensor labels, Tensor positionIds, Tensor sequenceIds) {
                    return packed.loss(inputIds, labels, positionIds, sequenceIds);
                }
            };
        }
    }

    /** The mean loss of packed rows (see {@link LossFunction#loss(Tensor, Tensor, Tensor, Tensor)}). */
    @FunctionalInterface
    public interface PackedLossFunction {
        Tensor loss(Tensor inputIds, Tensor labels, Tensor positionIds, Tensor sequenceIds);
    }

    /** Writes the trained result (an adapter folder or a full model folder). */
    @FunctionalInterface
    public interface ModelSaver {
        void save(Path dir);
    }

    /** What a run produced. */
    public record TrainingResult(long steps, double finalTrainLoss, Double evalLoss, Double evalPerplexity,
                                 List<Double> stepLosses, Path outputDir, List<Double> stepSeconds) {
        /** The mean loss over the run's steps, as Hugging Face's {@code train_loss}; NaN when no step had a loss. */
        public double trainLoss() {
            return stepLosses.stream().mapToDouble(Double::doubleValue).filter(Double::isFinite).average().orElse(Double.NaN);
        }

        /** The median wall time of this run's optimizer steps, in seconds (NaN when none ran). */
        public double medianStepSeconds() {
            if (stepSeconds.isEmpty()) {
                return Double.NaN;
            }
            double[] s = stepSeconds.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int n = s.length;
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }
    }

    private final Module model;
    private final LossFunction lossFn;
    private final ModelSaver saver;
    private final List<Example> train, eval;
    private final int padId;
    private final TrainingArguments args;
    private final Rng dropoutRng;
    private final List<TrainerCallback> callbacks = new ArrayList<>();
    private DataParallel dataParallel = new DataParallel(Collective.singleProcess());

    public Trainer(Module model, LossFunction lossFn, ModelSaver saver, List<Example> train, List<Example> eval,
                   int padId, TrainingArguments args) {
        this(model, lossFn, saver, train, eval, padId, args, null);
    }

    /** With the model's dropout generator, so checkpoints capture and restore its state. */
    public Trainer(Module model, LossFunction lossFn, ModelSaver saver, List<Example> train, List<Example> eval,
                   int padId, TrainingArguments args, Rng dropoutRng) {
        args.validate();
        if (train.isEmpty()) {
            throw new TesseraException("training data is empty");
        }
        this.model = model;
        this.lossFn = lossFn;
        this.saver = saver;
        this.train = train;
        this.eval = eval == null ? List.of() : eval;
        this.padId = padId;
        this.args = args;
        this.dropoutRng = dropoutRng;
    }

    /** Adds a callback notified after every optimizer step and log line. */
    public Trainer addCallback(TrainerCallback callback) {
        callbacks.add(callback);
        return this;
    }

    /**
     * Trains data-parallel over the ranks of {@code collective}, as PyTorch DDP: every rank runs
     * this Trainer with the same arguments; each global batch is the ranks' batches of
     * {@code perDeviceTrainBatchSize} together, gradients are summed over the ranks and weighted by
     * the labelled tokens of all of them (N ranks × batch B = one process × batch N·B), and rank 0
     * alone shows progress and writes metrics, charts, checkpoints and the model. Callbacks run on
     * every rank.
     */
    public Trainer distributed(Collective collective) {
        this.dataParallel = new DataParallel(collective);
        return this;
    }

    /** Total optimizer steps this run will take. */
    public long totalSteps(DataLoader loader) {
        if (args.maxSteps() > 0) {
            return args.maxSteps();
        }
        int accumulation = args.gradientAccumulationSteps();
        long perEpoch = Math.max(1, (loader.batchesPerEpoch() + accumulation - 1) / accumulation);
        return (long) Math.ceil(perEpoch * args.numTrainEpochs());
    }

    public TrainingResult train() {
        Map<String, Tensor> trainable = model.trainableParameters();
        if (trainable.isEmpty()) {
            throw new TesseraException("the model has no trainable parameters");
        }
        // one global loader on every rank; each takes its share of every batch
        DataLoader loader = new DataLoader(train, args.perDeviceTrainBatchSize() * dataParallel.worldSize(), padId, args.shuffle(),
                args.seed());
        long total = totalSteps(loader);
        long warmup = args.warmupSteps() > 0 ? args.warmupSteps() : (long) Math.ceil(args.warmupRatio() * total);
        LrSchedule schedule = args.lrSchedulerType().schedule(warmup, total);
        List<ParamGroup> groups = ParamGroup.decayAllButBiasesAndNorms(trainable, args.weightDecay());
        PagedStateStore store = args.optim().paged()
                ? new PagedStateStore(1 << 20, Math.max(2L << 20, args.pagedFastBudgetBytes()), args.outputDir().resolve(".pages"))
                : null;
        try {
            Optimizer optimizer = newOptimizer(groups, store);
            return run(trainable, loader, total, schedule, optimizer, store);
        } finally {
            if (store != null) {
                store.close();
            }
        }
    }

    private Optimizer newOptimizer(List<ParamGroup> groups, PagedStateStore store) {
        double lr = args.learningRate(), b1 = args.adamBeta1(), b2 = args.adamBeta2(), eps = args.adamEpsilon();
        return switch (args.optim()) {
            case ADAMW -> new AdamW(groups, lr, b1, b2, eps);
            case SGD -> new Sgd(groups, lr);
            case ADAMW_8BIT -> new AdamW8bit(groups, lr, b1, b2, eps, null);
            case PAGED_ADAMW -> new PagedAdamW(groups, lr, b1, b2, eps, store, PagedAdamW.DEFAULT_MIN_PAGED_VALUES);
            case PAGED_ADAMW_8BIT -> new AdamW8bit(groups, lr, b1, b2, eps, store);
        };
    }

    /** What a run carries from step to step, and what a checkpoint saves of it. */
    private static final class RunState {
        long step;
        double lossScale;
        long goodSteps;
        final List<Double> stepLosses = new ArrayList<>();
        final List<Double> stepSeconds = new ArrayList<>(); // this process's steps only (not those before a resume)
        final List<MetricsLine> history = new ArrayList<>();
        boolean notedNothingPaged;
        // since the last metrics line
        long tokensSinceLog, stepAtLastLog, logStartNanos = System.nanoTime();

        RunState(double lossScale) {
            this.lossScale = lossScale;
        }
    }

    private TrainingResult run(Map<String, Tensor> trainable, DataLoader loader, long total, LrSchedule schedule,
                               Optimizer optimizer, PagedStateStore store) {
        List<Tensor> params = List.copyOf(trainable.values());
        RunState state = new RunState(args.fp16InitialLossScale());
        if (args.resumeFromCheckpoint() != null) {
            resume(Checkpointer.restore(args.resumeFromCheckpoint(), trainable, optimizer), loader, state);
        }
        dataParallel.broadcastWeights(trainable);
        boolean main = dataParallel.isMain();
        Checkpointer checkpointer = new Checkpointer(args.outputDir(), args.saveTotalLimit());
        Progress progress = new Progress(total, args.progress() && main);
        if (args.gradientCheckpointing()) {
            enableGradientCheckpointing();
        }
        model.train(true);
        state.logStartNanos = System.nanoTime();
        try (MetricsLog log = main ? openLog(state) : MetricsLog.disabled()) {
            for (long step = state.step; step < total; step++) {
                double lr = args.learningRate() * schedule.factor(step);
                optimizer.setLearningRate(lr);
                long stepStart = System.nanoTime();
                StepOutcome outcome = trainStep(loader, params, optimizer, state).timed((System.nanoTime() - stepStart) / 1e9);
                state.stepSeconds.add(outcome.seconds);
                state.step = step + 1;
                state.stepLosses.add(outcome.loss);
                state.tokensSinceLog += outcome.tokens;
                progress.update(state.step, epochOf(loader), outcome.loss, lr, outcome.tokens);
                if (state.step % args.loggingSteps() == 0 || state.step == total) {
                    MetricsLine.Step line = stepLine(state, loader, outcome, lr, store);
                    append(log, state, line);
                    for (TrainerCallback c : callbacks) {
                        c.onLog(line);
                    }
                }
                if (args.evalSteps() > 0 && state.step % args.evalSteps() == 0 && !eval.isEmpty()) {
                    double e = evaluate();
                    model.train(true);
                    append(log, state, new MetricsLine.Eval(state.step, e, null));
                }
                if (main && args.saveSteps() > 0 && state.step % args.saveSteps() == 0 && state.step < total) {
                    checkpointer.save(trainable, optimizer, snapshot(state, loader));
                }
                for (TrainerCallback c : callbacks) {
                    c.onStep(state.step, outcome.loss);
                }
            }
            progress.finish();
            return finish(log, state, main);
        } finally {
            dataParallel.release();
        }
    }

    /** The final evaluation, the trained model and loss.png. */
    private TrainingResult finish(MetricsLog log, RunState state, boolean main) {
        Double evalLoss = null;
        if (!eval.isEmpty()) {
            evalLoss = evaluate();
            append(log, state, new MetricsLine.Eval(state.step, evalLoss, Math.exp(evalLoss)));
        }
        if (main) {
            saver.save(args.outputDir());
            writeLossChart(state);
        }
        double last = state.stepLosses.isEmpty() ? Double.NaN : state.stepLosses.get(state.stepLosses.size() - 1);
        return new TrainingResult(state.step, last, evalLoss, evalLoss == null ? null : Math.exp(evalLoss),
                List.copyOf(state.stepLosses), args.outputDir(), List.copyOf(state.stepSeconds));
    }

    /** metrics.jsonl in the output folder; a resumed run keeps the lines up to its checkpoint's step. */
    private MetricsLog openLog(RunState state) {
        try {
            Files.createDirectories(args.outputDir());
        } catch (IOException e) {
            throw new TesseraException(args.outputDir() + ": cannot create the output folder: " + e.getMessage(), e);
        }
        return MetricsLog.open(args.outputDir().resolve("metrics.jsonl"), args.resumeFromCheckpoint() == null ? null : state.step);
    }

    private static void append(MetricsLog log, RunState state, MetricsLine line) {
        log.write(line);
        state.history.add(line);
    }

    /** The metrics of a logged step; resets the counters of the logging interval. */
    private MetricsLine.Step stepLine(RunState state, DataLoader loader, StepOutcome outcome, double lr, PagedStateStore store) {
        double seconds = (System.nanoTime() - state.logStartNanos) / 1e9;
        Double allreduce = null;
        Integer ranks = null;
        if (dataParallel.distributed()) {
            // gradient all-reduce per step, waiting for the slowest rank included
            allreduce = dataParallel.takeReduceSeconds() / (state.step - state.stepAtLastLog);
            ranks = dataParallel.worldSize();
        }
        if (store != null && store.pages() == 0 && !state.notedNothingPaged && dataParallel.isMain()) {
            // every state tensor is below the paging threshold: say it once rather than log zeros
            System.err.printf("note: --optimizer %s pages nothing here: every optimizer state tensor has fewer than %,d values "
                    + "(bitsandbytes' threshold), so all of it stays in memory%n", args.optim(), PagedAdamW.DEFAULT_MIN_PAGED_VALUES);
            state.notedNothingPaged = true;
        }
        boolean paging = store != null && store.pages() > 0;
        MetricsLine.Step line = new MetricsLine.Step(state.step, epochOf(loader), outcome.loss, lr, outcome.gradNorm,
                state.tokensSinceLog / Math.max(seconds, 1e-9), outcome.seconds, MemoryUsage.peakRssBytes(),
                MemoryUsage.peakLiveBytes(), allreduce, ranks,
                // paged optimizers: pages copied between the fast and the slow tier so far
                paging ? store.pagesIn() + store.pagesOut() : null, paging ? (long) store.pages() * store.pageBytes() : null,
                outcome.skipped);
        state.tokensSinceLog = 0;
        state.stepAtLastLog = state.step;
        state.logStartNanos = System.nanoTime();
        return line;
    }

    /** Continues from a checkpoint's state: step, data position, loss scale, dropout RNG and what was logged. */
    private void resume(TrainerState saved, DataLoader loader, RunState state) {
        state.step = saved.globalStep();
        state.stepAtLastLog = saved.globalStep();
        state.lossScale = saved.lossScale();
        state.goodSteps = saved.goodSteps();
        loader.restore(new DataLoader.State(saved.epoch(), saved.position()));
        if (dropoutRng != null && saved.dropoutRng() != null) {
            dropoutRng.setState(saved.dropoutRng().clone());
        }
        state.stepLosses.addAll(saved.stepLosses());
        state.history.addAll(saved.logHistory());
    }

    private TrainerState snapshot(RunState state, DataLoader loader) {
        return new TrainerState(state.step, loader.state().epoch(), loader.state().position(), state.lossScale, state.goodSteps,
                dropoutRng == null ? null : dropoutRng.state(), args.runDescription(), List.copyOf(state.stepLosses),
                List.copyOf(state.history));
    }

    /** loss.png; a machine that cannot draw (no fonts) gets a one-line warning, not a failed run. */
    private void writeLossChart(RunState state) {
        try {
            MetricsLog.lossChart(args.runName(), state.stepLosses, state.history, args.lossChartLogScale())
                    .writePng(args.outputDir().resolve("loss.png"));
        } catch (TesseraException e) {
            System.err.println("warning: no loss chart: " + e.getMessage());
        }
    }

    /** gradient_checkpointing: per transformer block of the model (or of a PEFT model's base). */
    private void enableGradientCheckpointing() {
        if (model instanceof CausalLM lm) {
            lm.setGradientCheckpointing(true);
        } else if (model instanceof PeftModel peft) {
            peft.baseModel().setGradientCheckpointing(true);
        } else {
            throw new TesseraException("gradient_checkpointing needs a CausalLM or PeftModel, got " + model.getClass().getSimpleName());
        }
    }

    private double epochOf(DataLoader loader) {
        return loader.epoch() + (double) loader.state().position() / train.size();
    }

    private record StepOutcome(double loss, double gradNorm, long tokens, boolean skipped, double seconds) {
        StepOutcome(double loss, double gradNorm, long tokens, boolean skipped) {
            this(loss, gradNorm, tokens, skipped, Double.NaN);
        }

        StepOutcome timed(double s) {
            return new StepOutcome(loss, gradNorm, tokens, skipped, s);
        }
    }

    /** One optimizer step over gradientAccumulationSteps micro-batches. */
    private StepOutcome trainStep(DataLoader loader, List<Tensor> params, Optimizer optimizer, RunState state) {
        List<Batch> micro = new ArrayList<>();
        long labelled = 0, tokens = 0;
        for (int i = 0; i < args.gradientAccumulationSteps(); i++) {
            Batch b = dataParallel.nextBatch(loader, padId);
            micro.add(b);
            labelled += countTargets(b);
            tokens += (long) b.size() * b.length();
        }
        if (dataParallel.distributed()) {
            // every rank weights its tokens by the labelled tokens of all ranks
            double[] global = dataParallel.sum(labelled, tokens);
            labelled = (long) global[0];
            tokens = (long) global[1];
        }
        double lossSum = 0;
        DType autocast = args.bf16() ? DType.BF16 : args.fp16() ? DType.F16 : null;
        for (Batch b : micro) {
            long count = countTargets(b);
            if (count == 0) {
                continue;
            }
            try (var scope = Scope.open()) {
                Tensor loss;
                if (autocast != null) {
                    try (var ac = Autocast.enable(autocast)) {
                        loss = batchLoss(b);
                    }
                } else {
                    loss = batchLoss(b);
                }
                // token-weighted: the accumulated gradient equals the gradient of the large batch's mean
                float weight = (float) count / labelled;
                float scale = args.fp16() ? (float) state.lossScale : 1f;
                loss.mul(weight * scale).backward();
                lossSum += (double) loss.item() * count;
            }
        }
        dataParallel.allReduceGradients(params);
        lossSum = dataParallel.sum(lossSum)[0];
        boolean skipped = false;
        if (args.fp16()) {
            skipped = !unscaleAndCheck(params, state);
        }
        double gradNorm = Double.NaN;
        if (!skipped) {
            gradNorm = args.maxGradNorm() > 0 ? GradClipping.clipGradNorm(params, args.maxGradNorm()) : Double.NaN;
            optimizer.step();
        }
        optimizer.zeroGrad();
        return new StepOutcome(labelled == 0 ? Double.NaN : lossSum / labelled, gradNorm, tokens, skipped);
    }

    /** FP16 dynamic loss scaling: unscale the gradients; on inf/NaN skip the step and halve the scale. */
    private boolean unscaleAndCheck(List<Tensor> params, RunState state) {
        boolean finite = true;
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            for (Tensor p : params) {
                if (p.grad() != null) {
                    p.grad().mulInPlace((float) (1 / state.lossScale));
                    float s = p.grad().abs().sum().item();
                    finite &= Float.isFinite(s);
                }
            }
        }
        if (!finite) {
            state.lossScale /= 2;
            state.goodSteps = 0;
            return false;
        }
        if (++state.goodSteps % 2000 == 0) {
            state.lossScale *= 2;
        }
        return true;
    }

    /** The loss function's mean loss of a batch: the packing-aware overload when a row holds several examples. */
    private Tensor batchLoss(Batch b) {
        Tensor ids = tensor(b.inputIds());
        Tensor labels = tensor(b.labels());
        if (isPacked(b)) {
            return lossFn.loss(ids, labels, tensor(b.positionIds()), tensor(b.sequenceIds()));
        }
        return lossFn.loss(ids, labels);
    }

    /** Whether some row of the batch holds more than one example (unpacked rows take the plain causal path). */
    static boolean isPacked(Batch b) {
        if (b.sequenceIds() == null || b.positionIds() == null) {
            return false;
        }
        for (int[] row : b.sequenceIds()) {
            for (int s : row) {
                if (s > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Next-token targets of a batch: labels at positions 1.. that are not -100. */
    static long countTargets(Batch b) {
        long n = 0;
        for (int[] row : b.labels()) {
            for (int t = 1; t < row.length; t++) {
                if (row[t] != Example.IGNORE_INDEX) {
                    n++;
                }
            }
        }
        return n;
    }

    /** A batch's rows as I64 [B, T] on the model's device: the Trainer runs wherever the model is. */
    private Tensor tensor(int[][] rows) {
        int b = rows.length, t = b == 0 ? 0 : rows[0].length;
        int[] flat = new int[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(rows[i], 0, flat, i * t, t);
        }
        return Tensor.ofInts(flat, b, t).to(model.device());
    }

    /**
     * Mean loss over every labelled next-token prediction of the eval set; with several ranks each
     * scores a share of it, so every rank must call this together.
     */
    public double evaluate() {
        model.train(false);
        double sum = 0;
        long count = 0;
        try (var ng = Autograd.noGrad()) {
            // rank r scores batches r, r + N, ... of the eval set
            int stride = args.perDeviceEvalBatchSize() * dataParallel.worldSize();
            for (int i = args.perDeviceEvalBatchSize() * dataParallel.rank(); i < eval.size(); i += stride) {
                Batch b = Batch.collate(eval.subList(i, Math.min(eval.size(), i + args.perDeviceEvalBatchSize())), padId);
                long c = countTargets(b);
                if (c == 0) {
                    continue;
                }
                try (var scope = Scope.open()) {
                    sum += (double) batchLoss(b).item() * c;
                    count += c;
                }
            }
        }
        double[] totals = dataParallel.sum(sum, count);
        return totals[1] == 0 ? Double.NaN : totals[0] / totals[1];
    }
}
