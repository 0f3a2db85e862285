package dev.tessera.examples.cli;

import dev.tessera.core.Collective;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.examples.Tessera;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.peft.BottleneckAdapterConfig;
import dev.tessera.nn.peft.Ia3Config;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.nn.peft.PrefixTuningConfig;
import dev.tessera.nn.peft.PromptTuningConfig;
import dev.tessera.nn.tokenizer.Tokenizer;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.QuantType;
import dev.tessera.quant.QuantizedModels;
import dev.tessera.training.MemoryUsage;
import dev.tessera.training.Trainer;
import dev.tessera.training.TrainingArguments;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.training.data.DataOptions;
import dev.tessera.training.data.SftDataset;
import dev.tessera.training.dist.DataParallelLaunch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tessera train}: fine-tunes a model folder on a data file with one of the methods of the
 * notebook's table; writes a PEFT adapter (PEFT methods) or an HF model folder (full), plus
 * metrics.jsonl, loss.png and checkpoints. Flags follow Hugging Face's TrainingArguments and
 * PEFT's LoraConfig names; LoRA defaults are the notebook's (r 8, alpha 16, dropout 0.1).
 * {@code --config FILE.json|yaml} supplies flags by name (without dashes); flags on the command
 * line override it.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
        description = {"Fine-tune a model: full, LoRA, QLoRA, IA3, prefix, prompt or bottleneck adapters.",
            "Writes the adapter (PEFT format) or, with --method full, a complete Hugging Face model folder, plus metrics.jsonl, "
                + "loss.png and checkpoints. Every flag and path is checked before the model is loaded."})
public final class TrainCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON or YAML file of flag values (flags given here override it). Default: none.")
    Path config;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model folder (config.json, *.safetensors, tokenizer files); plain or bitsandbytes 4-bit.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Training data: .jsonl/.json rows (alpaca, sharegpt, messages, text, tokens) or a .txt file.")
    Path data;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output folder (created; must not be a file).")
    Path output;

    @Option(names = "--method", defaultValue = "lora", paramLabel = "full|lora|qlora|ia3|prefix|prompt|adapter",
            description = "What to train: every weight (full), LoRA, QLoRA (4-bit base + LoRA), IA3, prefix or prompt tuning, bottleneck adapters.")
    String method;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (lora, qlora).")
    int r;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha; the update is scaled by alpha/r (lora, qlora).")
    double alpha;

    @Option(names = "--dropout", defaultValue = "0.1", description = "Dropout on the LoRA input (lora, qlora).")
    double dropout;

    @Option(names = "--target-modules", split = ",", paramLabel = "a,b", description = "Modules to adapt (lora, qlora, ia3); all-linear allowed. Default: PEFT's per architecture (GPT-2: c_attn).")
    List<String> targetModules;

    @Option(names = "--rslora", description = "Rank-stabilised LoRA scaling alpha/sqrt(r) (lora, qlora).")
    boolean rslora;

    @Option(names = "--num-virtual-tokens", defaultValue = "20", description = "Virtual tokens of prefix and prompt tuning.")
    int numVirtualTokens;

    @Option(names = "--quant", defaultValue = "nf4", paramLabel = "nf4|fp4", description = "4-bit data type of the base weights (qlora).")
    String quant;

    @Option(names = "--double-quant", description = "Quantize the 4-bit block scales too (qlora).")
    boolean doubleQuant;

    @Option(names = "--optimizer", defaultValue = "adamw", paramLabel = "adamw|sgd|adamw8bit|paged-adamw|paged-adamw8bit",
            description = "Optimizer; the 8-bit ones keep AdamW's state in 8 bits, the paged ones page large state tensors to disk.")
    String optimizer;

    @Option(names = "--lr", defaultValue = "5e-5", description = "Peak learning rate.")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (not on biases and norms).")
    double weightDecay;

    @Option(names = "--betas", defaultValue = "0.9,0.999", paramLabel = "b1,b2", description = "Adam betas.")
    String betas;

    @Option(names = "--eps", defaultValue = "1e-8", description = "Adam epsilon.")
    double eps;

    @Option(names = "--epochs", defaultValue = "3", description = "Passes over the data (unless --max-steps is set).")
    double epochs;

    @Option(names = "--max-steps", defaultValue = "-1", description = "Optimizer steps; overrides --epochs when > 0.")
    long maxSteps;

    @Option(names = "--batch-size", defaultValue = "8", description = "Examples per micro-batch.")
    int batchSize;

    @Option(names = "--grad-accum", defaultValue = "1", description = "Micro-batches per optimizer step (gradient accumulation).")
    int gradAccum;

    @Option(names = "--warmup-steps", defaultValue = "0", description = "Steps of linear learning-rate warm-up.")
    long warmupSteps;

    @Option(names = "--scheduler", defaultValue = "linear", paramLabel = "constant|linear|cosine", description = "Learning-rate decay after warm-up.")
    String scheduler;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Clip the gradient norm to this; 0 turns clipping off.")
    double maxGradNorm;

    @Mixin
    DataFlags dataFlags;

    @Option(names = "--packing", description = "Pack short examples into --max-length rows; each example attends only to itself "
            + "(padding-free training). Not with --method prefix or prompt. Default: off.")
    boolean packing;

    @Option(names = "--bf16", description = "BF16 matrix products with F32 master weights. Default: off.")
    boolean bf16;

    @Option(names = "--fp16", description = "F16 matrix products with dynamic loss scaling. Default: off.")
    boolean fp16;

    @Option(names = "--gradient-checkpointing", description = "Recompute each block in backward to save memory. Default: off.")
    boolean gradientCheckpointing;

    @Option(names = "--logging-steps", defaultValue = "10", description = "Write a metrics.jsonl line every N steps.")
    long loggingSteps;

    @Option(names = "--save-steps", defaultValue = "0", description = "Checkpoint every N steps (0: none).")
    long saveSteps;

    @Option(names = "--save-total-limit", defaultValue = "0", description = "Keep only the newest N checkpoints (0: all).")
    int saveTotalLimit;

    @Option(names = "--eval-data", paramLabel = "FILE", description = "Evaluation data (same formats as --data); eval loss at the end. Default: none.")
    Path evalData;

    @Option(names = "--eval-steps", defaultValue = "0", description = "Also evaluate every N steps (needs --eval-data; 0: only at the end).")
    long evalSteps;

    @Option(names = "--resume", paramLabel = "DIR", description = "A checkpoint folder (OUTPUT/checkpoint-N) of the same run to continue from. Default: none.")
    Path resume;

    @Option(names = "--no-shuffle", description = "Take the data in file order. Default: shuffled each epoch.")
    boolean noShuffle;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of initialisation, dropout and shuffling.")
    long seed;

    @Option(names = "--run-name", paramLabel = "NAME", description = "Name in the loss chart's title. Default: the output folder's name.")
    String runName;

    @Option(names = "--log-scale-loss", description = "Draw loss.png with a logarithmic loss axis. Default: off.")
    boolean logScaleLoss;

    @Mixin
    TorchDtypeOption torchDtype;

    @Option(names = "--nproc", paramLabel = "N", description = "Data-parallel on this machine: N ranks through Open MPI's mpirun, "
            + "each with --batch-size rows (under mpirun the ranks are detected and no flag is needed). Default: one process.")
    Integer nproc;

    /** Whether this process prints (rank 0 of a data-parallel job, or the only process). */
    private boolean mainRank = true;

    /** The data-parallel job's size (1 for a single process). */
    private int ranks = 1;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        common.apply();
        if (nproc != null) {
            return launchRanks();
        }
        Collective collective = DataParallelLaunch.collectiveFromEnvironment();
        mainRank = collective.isMain();
        ranks = collective.worldSize();
        try {
            int code = train(collective);
            collective.close();
            return code;
        } catch (RuntimeException | OutOfMemoryError e) {
            DataParallelLaunch.abortJobOnError(collective, String.valueOf(e.getMessage()).replace('\n', ' '),
                    e instanceof UsageException ? 2 : 1);
            throw e;
        }
    }

    /** --nproc N: this command again, without --nproc, as N ranks of mpirun; each rank gets its share of the cores. */
    private int launchRanks() {
        if (DataParallelLaunch.underMpirun()) {
            throw new UsageException("--nproc: this process already runs under mpirun; leave --nproc out");
        }
        if (nproc < 1) {
            throw new UsageException("--nproc must be >= 1, got " + nproc);
        }
        List<String> original = spec.root().commandLine().getParseResult().originalArgs();
        List<String> args = new ArrayList<>();
        for (int i = 0; i < original.size(); i++) {
            String a = original.get(i);
            if (a.equals("--nproc")) {
                i++;
            } else if (!a.startsWith("--nproc=")) {
                args.add(a);
            }
        }
        if (common.threads == null) {
            args.add("--threads");
            args.add(Integer.toString(Math.max(1, Runtime.getRuntime().availableProcessors() / nproc)));
        }
        return DataParallelLaunch.launchLocally(nproc, DataParallelLaunch.javaCommand(Tessera.class.getName(), args));
    }

    private int train(Collective collective) {
        common.quiet = !mainRank;
        Device device = common.device();
        if (collective.worldSize() > 1 && !device.isCpu()) {
            throw new UsageException("--device " + device + ": data-parallel training runs on the CPU for now (the collective is MPI over host memory)");
        }
        // 1. every flag, path and combination, before anything expensive
        TrainingArguments args = trainingArguments();
        if (method.equals("full") && torchDtype.dtype() != null && torchDtype.dtype() != DType.F32) {
            throw new UsageException("--torch-dtype " + torchDtype.torchDtype + ": full fine-tuning trains every weight, in float32");
        }
        checkPaths();
        warnAboutIgnoredFlags();
        ModelConfig modelConfig = ModelConfig.read(model);
        checkResume();

        // 2. data, with the model's tokenizer and context length
        progressLine("reading " + data + " ...");
        Tokenizer tokenizer = LoadedModel.tokenizerFor(model, null, modelConfig.vocabSize());
        DataOptions options = dataFlags.options(tokenizer, model, modelConfig.maxPositions()).withPacking(packing);
        SftDataset train = SftDataset.loadForTraining(data, tokenizer, options);
        report(data, train, options);
        if (dataFlags.chatTemplate != null && !train.format().usesChatTemplate()) {
            warn("--chat-template " + dataFlags.chatTemplate + " is ignored: " + data + " is " + train.format().cliName()
                    + " data, which does not use a chat template");
        }
        SftDataset eval = null;
        if (evalData != null) {
            eval = SftDataset.loadForTraining(evalData, tokenizer, options);
            report(evalData, eval, options);
        }

        // 3. the model
        long loadStart = System.nanoTime();
        boolean quantizeWhileLoading = method.equals("qlora") && !QuantizedModels.isQuantized(model);
        progressLine((quantizeWhileLoading ? "loading and quantizing " + model + " to " + quant
                + (doubleQuant ? " with double quantization" : "") : "loading " + model) + " ...");
        CausalLM base = switch (method) {
            case "full" -> ModelFolders.load(model);
            case "qlora" -> ModelFolders.loadIn4bit(model, new BitsAndBytesConfig(quant.equals("nf4") ? QuantType.NF4 : QuantType.FP4,
                    64, doubleQuant, DType.F32, null), torchDtype.dtype());
            default -> ModelFolders.loadFrozen(model, torchDtype.dtype());
        };
        double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
        Trainer.LossFunction loss;
        Trainer.ModelSaver saver;
        Module trained;
        if (method.equals("full")) {
            if (!QuantizedModels.quantizedLayers(base).isEmpty()) {
                throw new UsageException("--method full needs a full-precision model; " + model + " is 4-bit (use --method qlora)");
            }
            base.requiresGrad(true);
            loss = Trainer.LossFunction.withPacking(base::loss, base::loss);
            // a complete HF model folder: weights and config, plus the tokenizer and generation config
            saver = dir -> {
                base.save(dir);
                MergeCommand.copyCompanions(model, dir);
                writeGenerationConfig(modelConfig, dir);
            };
            trained = base;
        } else {
            if (method.equals("qlora") && !quantizeWhileLoading) {
                System.err.println("tessera train: " + model + " is already 4-bit; adding LoRA on top");
            }
            PeftModel peft = PeftModel.of(base, peftConfig());
            if (mainRank) {
                System.err.println(peft.trainableParametersLine());
            }
            loss = Trainer.LossFunction.withPacking(peft::loss, peft::loss);
            saver = peft::save;
            trained = peft;
        }
        trained.to(device);   // before the Trainer makes optimizer state next to the parameters
        Trainer trainer = new Trainer(trained, loss, saver, train.examples(), eval == null ? List.of() : eval.examples(),
                train.padId(), args, base.dropoutRng());
        Trainer.TrainingResult result = trainer.distributed(collective).train();
        if (!mainRank) {
            return 0;
        }
        // train_loss as Hugging Face's: the mean over the run; the last logged step's loss beside it
        System.out.printf(Locale.ROOT, "{\"steps\": %d, \"train_loss\": %s, \"last_loss\": %s, \"eval_loss\": %s, \"load_s\": %.3f, "
                + "\"median_step_s\": %s, \"peak_rss_bytes\": %d, \"peak_live_bytes\": %d, \"output\": \"%s\"}%n",
                result.steps(), json(result.trainLoss()), json(result.finalTrainLoss()),
                result.evalLoss() == null ? "null" : json(result.evalLoss()),
                loadSeconds, json(result.medianStepSeconds()), MemoryUsage.peakRssBytes(), MemoryUsage.peakLiveBytes(),
                output.toString().replace("\\", "\\\\").replace("\"", "\\\""));
        return 0;
    }

    static final List<String> METHODS = List.of("full", "lora", "qlora", "ia3", "prefix", "prompt", "adapter");
    static final List<String> OPTIMIZERS = List.of("adamw", "sgd", "adamw8bit", "paged-adamw", "paged-adamw8bit");

    /** The flags as TrainingArguments, each value checked in the flag's own words. */
    private TrainingArguments trainingArguments() {
        oneOf("--method", method, METHODS);
        oneOf("--optimizer", optimizer, OPTIMIZERS);
        oneOf("--scheduler", scheduler, List.of("constant", "linear", "cosine"));
        oneOf("--quant", quant, List.of("nf4", "fp4"));
        String[] b = betas.split(",");
        if (b.length != 2) {
            throw new UsageException("--betas: expected b1,b2, got '" + betas + "'");
        }
        TrainingArguments args = new TrainingArguments(output);
        try {
            args.adamBeta1 = Double.parseDouble(b[0].strip());
            args.adamBeta2 = Double.parseDouble(b[1].strip());
        } catch (NumberFormatException e) {
            throw new UsageException("--betas: expected two numbers, got '" + betas + "'");
        }
        require(args.adamBeta1 >= 0 && args.adamBeta1 < 1 && args.adamBeta2 >= 0 && args.adamBeta2 < 1, "--betas must each be in [0, 1), got " + betas);
        require(batchSize >= 1, "--batch-size must be >= 1, got " + batchSize);
        require(gradAccum >= 1, "--grad-accum must be >= 1, got " + gradAccum);
        require(lr >= 0, "--lr must be >= 0, got " + lr);
        require(eps > 0, "--eps must be > 0, got " + eps);
        require(weightDecay >= 0, "--weight-decay must be >= 0, got " + weightDecay);
        require(maxSteps > 0 || epochs > 0, "set --max-steps > 0 or --epochs > 0");
        require(warmupSteps >= 0, "--warmup-steps must be >= 0, got " + warmupSteps);
        require(maxGradNorm >= 0, "--max-grad-norm must be >= 0 (0 turns clipping off), got " + maxGradNorm);
        require(loggingSteps >= 1, "--logging-steps must be >= 1, got " + loggingSteps);
        require(saveSteps >= 0, "--save-steps must be >= 0, got " + saveSteps);
        require(saveTotalLimit >= 0, "--save-total-limit must be >= 0, got " + saveTotalLimit);
        require(evalSteps >= 0, "--eval-steps must be >= 0, got " + evalSteps);
        require(!(bf16 && fp16), "--bf16 and --fp16 cannot both be on");
        if (method.equals("lora") || method.equals("qlora")) {
            require(r >= 1, "--r must be >= 1 for --method " + method + ", got " + r);
            require(alpha > 0, "--alpha must be > 0, got " + alpha);
            require(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got " + dropout);
        }
        if (method.equals("prefix") || method.equals("prompt")) {
            require(numVirtualTokens >= 1, "--num-virtual-tokens must be >= 1, got " + numVirtualTokens);
            require(!packing, "--packing: --method " + method + " puts virtual tokens in front of a row, which packed examples "
                    + "cannot share; train without packing");
        }
        args.learningRate = lr;
        args.weightDecay = weightDecay;
        args.adamEpsilon = eps;
        args.numTrainEpochs = epochs;
        args.maxSteps = maxSteps;
        args.perDeviceTrainBatchSize = batchSize;
        args.perDeviceEvalBatchSize = batchSize;
        args.gradientAccumulationSteps = gradAccum;
        args.warmupSteps = warmupSteps;
        args.lrSchedulerType = scheduler;
        args.maxGradNorm = maxGradNorm;
        args.optim = optimizer;
        args.loggingSteps = loggingSteps;
        args.saveSteps = saveSteps;
        args.saveTotalLimit = saveTotalLimit;
        args.evalSteps = evalSteps;
        args.resumeFromCheckpoint = resume;
        args.shuffle = !noShuffle;
        args.seed = seed;
        args.bf16 = bf16;
        args.fp16 = fp16;
        args.gradientCheckpointing = gradientCheckpointing;
        args.runName = (runName != null ? runName : args.runName()) + " (" + method + ")";
        args.lossChartLogScale = logScaleLoss;
        args.runDescription = runDescription();
        args.validate();
        return args;
    }

    private void checkPaths() {
        if (!Files.isDirectory(model)) {
            throw new TesseraException("--model " + model + ": " + (Files.exists(model) ? "not a folder" : "no such folder"));
        }
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new TesseraException("--model " + model + ": no config.json; a model folder holds config.json, *.safetensors and tokenizer files (see README)");
        }
        checkDataFile("--data", data);
        if (evalData != null) {
            checkDataFile("--eval-data", evalData);
        }
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new TesseraException("--output " + output + ": is a file, expected a folder");
        }
        if (resume != null) {
            if (!Files.isDirectory(resume)) {
                throw new TesseraException("--resume " + resume + ": no such folder");
            }
            if (!Files.isRegularFile(resume.resolve("trainer_state.json"))) {
                throw new TesseraException("--resume " + resume + ": not a checkpoint folder (no trainer_state.json); expected OUTPUT/checkpoint-N");
            }
        }
    }

    private static void checkDataFile(String flag, Path file) {
        if (!Files.exists(file)) {
            throw new TesseraException(flag + " " + file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new TesseraException(flag + " " + file + ": not a file");
        }
    }

    /** Flags that the chosen method or data would silently ignore get a one-line warning naming them. */
    private void warnAboutIgnoredFlags() {
        boolean lora = method.equals("lora") || method.equals("qlora");
        if (!method.equals("qlora")) {
            List<String> quantFlags = given("--double-quant", "--quant");
            if (!quantFlags.isEmpty()) {
                warn(String.join(", ", quantFlags) + " only apply to --method qlora; ignored with --method " + method);
            }
        }
        if (!lora) {
            List<String> loraFlags = given("--r", "--alpha", "--dropout", "--rslora");
            if (!method.equals("ia3")) {
                loraFlags = new java.util.ArrayList<>(loraFlags);
                loraFlags.addAll(given("--target-modules"));
            }
            if (!loraFlags.isEmpty()) {
                warn(String.join(", ", loraFlags) + " only apply to --method lora or qlora; ignored with --method " + method);
            }
        }
        if (!method.equals("prefix") && !method.equals("prompt") && !given("--num-virtual-tokens").isEmpty()) {
            warn("--num-virtual-tokens only applies to --method prefix or prompt; ignored with --method " + method);
        }
        if (evalData == null && evalSteps > 0) {
            warn("--eval-steps " + evalSteps + " is ignored without --eval-data");
        }
        if (maxSteps > 0 && !given("--epochs").isEmpty()) {
            warn("--epochs is ignored: --max-steps " + maxSteps + " sets the length of the run");
        }
    }

    /** What a checkpoint must share with the run that resumes it (stored in its trainer_state.json). */
    private Map<String, String> runDescription() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("--method", method);
        if (method.equals("lora") || method.equals("qlora")) {
            d.put("--r", Integer.toString(r));
            d.put("--target-modules", targetModules == null ? "(default)" : String.join(",", targetModules));
        }
        d.put("--data", data.toAbsolutePath().normalize().toString());
        // the global batch: a run may resume with another number of ranks (each then takes its share)
        d.put("--batch-size × ranks", Integer.toString(batchSize * ranks));
        d.put("--grad-accum", Integer.toString(gradAccum));
        d.put("--optimizer", optimizer);
        return d;
    }

    /** --resume of a different run is refused before the model loads, naming the flags that differ. */
    private void checkResume() {
        if (resume == null) {
            return;
        }
        Map<String, String> saved = Trainer.runDescription(resume);
        if (saved.isEmpty()) {
            return; // a checkpoint from before run descriptions were stored
        }
        List<String> differences = new java.util.ArrayList<>();
        runDescription().forEach((flag, value) -> {
            String before = saved.get(flag);
            if (before != null && !before.equals(value)) {
                differences.add(flag + " " + value + " (checkpoint: " + before + ")");
            }
        });
        if (!differences.isEmpty()) {
            throw new UsageException("--resume " + resume + ": the checkpoint is from a different run: " + String.join(", ", differences)
                    + "; resume with the checkpoint's settings or start a new --output");
        }
    }

    private void report(Path file, SftDataset set, DataOptions options) {
        progressLine(file + ": " + set.rows() + " rows of " + set.format().cliName() + " data");
        if (set.skippedRows() > 0) {
            warn("skipped " + set.skippedRows() + " unreadable rows of " + file + " (lines " + lines(set.skippedLines(), set.skippedRows()) + ")");
        }
        if (set.truncatedRows() > 0) {
            warn(set.truncatedRows() + " rows of " + file + " are longer than --max-length " + options.maxLength() + " tokens and were truncated");
        }
        if (set.droppedUnlabelledRows() > 0) {
            warn("dropped " + set.droppedUnlabelledRows() + " rows of " + file + " with nothing to train on (no labelled token within "
                    + options.maxLength() + " tokens): lines " + lines(set.droppedUnlabelledLines(), set.droppedUnlabelledRows()));
        }
    }

    private static String lines(List<Long> first, int total) {
        StringBuilder sb = new StringBuilder();
        for (Long l : first) {
            sb.append(sb.isEmpty() ? "" : ", ").append(l);
        }
        return total > first.size() ? sb + ", ..." : sb.toString();
    }

    private List<String> given(String... flags) {
        List<String> out = new java.util.ArrayList<>();
        for (String f : flags) {
            if (spec.commandLine().getParseResult().hasMatchedOption(f)) {
                out.add(f);
            }
        }
        return out;
    }

    private static void oneOf(String flag, String value, List<String> allowed) {
        if (!allowed.contains(value)) {
            throw new UsageException(flag + ": expected " + String.join(", ", allowed) + "; got '" + value + "'");
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new UsageException(message);
        }
    }

    private void warn(String message) {
        if (mainRank) {
            System.err.println("tessera train: warning: " + message);
        }
    }

    private void progressLine(String message) {
        if (mainRank) {
            System.err.println("tessera train: " + message);
        }
    }

    /** generation_config.json as save_pretrained writes it, unless the model folder had one (copied then). */
    static void writeGenerationConfig(ModelConfig config, Path dir) {
        Path file = dir.resolve("generation_config.json");
        if (Files.exists(file)) {
            return;
        }
        StringBuilder json = new StringBuilder("{\n  \"_from_model_config\": true");
        if (config.bosTokenId() != null) {
            json.append(",\n  \"bos_token_id\": ").append(config.bosTokenId());
        }
        int[] eos = config.eosTokenIds();
        if (eos.length == 1) {
            json.append(",\n  \"eos_token_id\": ").append(eos[0]);
        } else if (eos.length > 1) {
            json.append(",\n  \"eos_token_id\": ").append(java.util.Arrays.toString(eos));
        }
        json.append("\n}\n");
        try {
            Path tmp = dir.resolve(".generation_config.json.tmp");
            Files.writeString(tmp, json);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (java.io.IOException e) {
            throw new TesseraException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static String json(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private PeftConfig peftConfig() {
        String baseName = model.toString();
        return switch (method) {
            case "lora", "qlora" -> {
                LoraConfig c = LoraConfig.defaults().withR(r).withLoraAlpha(alpha).withLoraDropout(dropout)
                        .withUseRslora(rslora).withBaseModelNameOrPath(baseName);
                yield targetModules == null ? c : c.withTargetModules(targetModules.toArray(String[]::new));
            }
            case "ia3" -> Ia3Config.defaults().withBaseModelNameOrPath(baseName);
            case "prefix" -> PrefixTuningConfig.of(numVirtualTokens).withBaseModelNameOrPath(baseName);
            case "prompt" -> PromptTuningConfig.of(numVirtualTokens).withBaseModelNameOrPath(baseName);
            case "adapter" -> BottleneckAdapterConfig.defaults().withBaseModelNameOrPath(baseName);
            default -> throw new IllegalStateException(method);
        };
    }
}
