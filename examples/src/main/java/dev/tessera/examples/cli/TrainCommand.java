package dev.tessera.examples.cli;

import dev.tessera.core.Collective;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.TesseraException;
import dev.tessera.examples.Tessera;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.Module;
import dev.tessera.nn.io.AtomicFiles;
import dev.tessera.nn.io.PythonJson;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.nn.tokenizer.Tokenizer;
import dev.tessera.quant.QuantizedModels;
import dev.tessera.training.MemoryUsage;
import dev.tessera.training.Trainer;
import dev.tessera.training.TrainerState;
import dev.tessera.training.TrainingArguments;
import dev.tessera.training.data.DataOptions;
import dev.tessera.training.data.SftDataset;
import dev.tessera.training.dist.DataParallelLaunch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
 * line override it. The steps: check every flag and path, read the data, load the model, train,
 * print one JSON line.
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

    @Mixin
    MethodFlags methodFlags;

    @Mixin
    TrainingFlags training;

    @Mixin
    DataFlags dataFlags;

    @Option(names = "--packing", description = "Pack short examples into --max-length rows; each example attends only to itself "
            + "(padding-free training). Not with --method prefix or prompt. Default: off.")
    boolean packing;

    @Option(names = "--eval-data", paramLabel = "FILE", description = "Evaluation data (same formats as --data); eval loss at the end. Default: none.")
    Path evalData;

    @Option(names = "--run-name", paramLabel = "NAME", description = "Name in the loss chart's title. Default: the output folder's name.")
    String runName;

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
        if (methodFlags.method == TrainMethod.FULL && torchDtype.dtype() != null && torchDtype.dtype() != DType.F32) {
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
        Setup setup = setUp(modelConfig, device);
        double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
        setup.trained.to(device);   // before the Trainer makes optimizer state next to the parameters

        // 4. training
        Trainer trainer = new Trainer(setup.trained, setup.loss, setup.saver, train.examples(), eval == null ? List.of() : eval.examples(),
                train.padId(), args, setup.base.dropoutRng());
        Trainer.TrainingResult result = trainer.distributed(collective).train();
        if (mainRank) {
            System.out.println(summary(result, loadSeconds));
        }
        return 0;
    }

    /** The model as trained: every weight (full) or a PEFT model over a frozen, maybe 4-bit, base. */
    private record Setup(CausalLM base, Module trained, Trainer.LossFunction loss, Trainer.ModelSaver saver) {}

    private Setup setUp(ModelConfig modelConfig, Device device) {
        TrainMethod method = methodFlags.method;
        boolean quantizeWhileLoading = method == TrainMethod.QLORA && !QuantizedModels.isQuantized(model);
        progressLine((quantizeWhileLoading ? "loading and quantizing " + model + " to " + methodFlags.quant.bnbName()
                + (methodFlags.doubleQuant ? " with double quantization" : "") : "loading " + model) + " ...");
        CausalLM base = switch (method) {
            case FULL -> ModelFolders.load(model, device);
            case QLORA -> ModelFolders.loadIn4bit(model, methodFlags.bitsAndBytes(), torchDtype.dtype(), device);
            default -> ModelFolders.loadFrozen(model, torchDtype.dtype(), device);
        };
        if (method == TrainMethod.FULL) {
            if (!QuantizedModels.quantizedLayers(base).isEmpty()) {
                throw new UsageException("--method full needs a full-precision model; " + model + " is 4-bit (use --method qlora)");
            }
            base.requiresGrad(true);
            // a complete HF model folder: weights and config, plus the tokenizer and generation config
            return new Setup(base, base, Trainer.LossFunction.withPacking(base::loss, base::loss), dir -> {
                base.save(dir);
                MergeCommand.copyCompanions(model, dir);
                writeGenerationConfig(modelConfig, dir);
            });
        }
        if (method == TrainMethod.QLORA && !quantizeWhileLoading) {
            System.err.println("tessera train: " + model + " is already 4-bit; adding LoRA on top");
        }
        PeftModel peft = PeftModel.of(base, methodFlags.peftConfig(model.toString()));
        if (mainRank) {
            System.err.println(peft.trainableParametersLine());
        }
        return new Setup(base, peft, Trainer.LossFunction.withPacking(peft::loss, peft::loss), peft::save);
    }

    /** The JSON line at the end; train_loss as Hugging Face's: the mean over the run, the last logged step's loss beside it. */
    private String summary(Trainer.TrainingResult result, double loadSeconds) {
        var line = JsonOutput.object().put("steps", result.steps());
        JsonOutput.putNumber(line, "train_loss", result.trainLoss());
        JsonOutput.putNumber(line, "last_loss", result.finalTrainLoss());
        JsonOutput.putNumber(line, "eval_loss", result.evalLoss() == null ? Double.NaN : result.evalLoss());
        line.put("load_s", Math.round(loadSeconds * 1e3) / 1e3);
        JsonOutput.putNumber(line, "median_step_s", result.medianStepSeconds());
        line.put("peak_rss_bytes", MemoryUsage.peakRssBytes()).put("peak_live_bytes", MemoryUsage.peakLiveBytes()).put("output", output.toString());
        return JsonOutput.line(line);
    }

    /** The flags as TrainingArguments, each value checked in the flag's own words. */
    private TrainingArguments trainingArguments() {
        training.validate();
        methodFlags.validate(packing);
        TrainingArguments args = training.args.outputDir(output);
        args.runName((runName != null ? runName : args.runName()) + " (" + methodFlags.method + ")").runDescription(runDescription());
        args.validate();
        return args;
    }

    private Path resume() {
        return training.args.resumeFromCheckpoint();
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
        if (resume() != null) {
            if (!Files.isDirectory(resume())) {
                throw new TesseraException("--resume " + resume() + ": no such folder");
            }
            if (!Files.isRegularFile(resume().resolve(TrainerState.FILE))) {
                throw new TesseraException("--resume " + resume() + ": not a checkpoint folder (no trainer_state.json); expected OUTPUT/checkpoint-N");
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
        methodFlags.warnAboutIgnored(this::given, this::warn);
        if (evalData == null && training.args.evalSteps() > 0) {
            warn("--eval-steps " + training.args.evalSteps() + " is ignored without --eval-data");
        }
        if (training.args.maxSteps() > 0 && !given("--epochs").isEmpty()) {
            warn("--epochs is ignored: --max-steps " + training.args.maxSteps() + " sets the length of the run");
        }
    }

    /** What a checkpoint must share with the run that resumes it (stored in its trainer_state.json). */
    private Map<String, String> runDescription() {
        Map<String, String> d = new LinkedHashMap<>();
        methodFlags.describe(d);
        d.put("--data", data.toAbsolutePath().normalize().toString());
        // the global batch: a run may resume with another number of ranks (each then takes its share)
        d.put("--batch-size × ranks", Integer.toString(training.args.perDeviceTrainBatchSize() * ranks));
        d.put("--grad-accum", Integer.toString(training.args.gradientAccumulationSteps()));
        d.put("--optimizer", training.args.optim().toString());
        return d;
    }

    /** --resume of a different run is refused before the model loads, naming the flags that differ. */
    private void checkResume() {
        if (resume() == null) {
            return;
        }
        Map<String, String> saved = TrainerState.read(resume()).run();
        if (saved.isEmpty()) {
            return; // a checkpoint from before run descriptions were stored
        }
        List<String> differences = new ArrayList<>();
        runDescription().forEach((flag, value) -> {
            String before = saved.get(flag);
            if (before != null && !before.equals(value)) {
                differences.add(flag + " " + value + " (checkpoint: " + before + ")");
            }
        });
        if (!differences.isEmpty()) {
            throw new UsageException("--resume " + resume() + ": the checkpoint is from a different run: " + String.join(", ", differences)
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
        List<String> out = new ArrayList<>();
        for (String f : flags) {
            if (spec.commandLine().getParseResult().hasMatchedOption(f)) {
                out.add(f);
            }
        }
        return out;
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
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("_from_model_config", true);
        if (config.bosTokenId() != null) {
            json.put("bos_token_id", config.bosTokenId());
        }
        int[] eos = config.eosTokenIds();
        if (eos.length == 1) {
            json.put("eos_token_id", eos[0]);
        } else if (eos.length > 1) {
            json.put("eos_token_id", java.util.Arrays.stream(eos).boxed().toList());
        }
        AtomicFiles.writeString(file, PythonJson.dumps(json) + "\n");
    }
}
