package dev.tessera.examples.cli;

import dev.tessera.core.Collective;
import dev.tessera.core.DType;
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
import dev.tessera.training.Trainer;
import dev.tessera.training.TrainingArguments;
import dev.tessera.training.data.SftDataset;
import dev.tessera.training.dist.DataParallelLaunch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fine-tune a model: full, LoRA, QLoRA, IA3, prefix, prompt or bottleneck adapters.")
public final class TrainCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON or YAML file of flag values (flags given here override it).")
    Path config;

    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "FILE")
    Path data;

    @Option(names = "--output", required = true, paramLabel = "DIR")
    Path output;

    @Option(names = "--method", defaultValue = "lora", paramLabel = "full|lora|qlora|ia3|prefix|prompt|adapter")
    String method;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--dropout", defaultValue = "0.1", description = "LoRA dropout (default: ${DEFAULT-VALUE}).")
    double dropout;

    @Option(names = "--target-modules", split = ",", paramLabel = "a,b", description = "Modules to adapt (default: PEFT's per architecture; all-linear allowed).")
    List<String> targetModules;

    @Option(names = "--rslora", description = "Rank-stabilised LoRA scaling alpha/sqrt(r).")
    boolean rslora;

    @Option(names = "--num-virtual-tokens", defaultValue = "20", description = "Prefix/prompt tuning length (default: ${DEFAULT-VALUE}).")
    int numVirtualTokens;

    @Option(names = "--quant", defaultValue = "nf4", paramLabel = "nf4|fp4", description = "4-bit type for qlora (default: ${DEFAULT-VALUE}).")
    String quant;

    @Option(names = "--double-quant", description = "Double quantization of the 4-bit scales (qlora).")
    boolean doubleQuant;

    @Option(names = "--optimizer", defaultValue = "adamw", paramLabel = "adamw|sgd|adamw8bit|paged-adamw|paged-adamw8bit")
    String optimizer;

    @Option(names = "--lr", defaultValue = "5e-5", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0")
    double weightDecay;

    @Option(names = "--betas", defaultValue = "0.9,0.999", paramLabel = "b1,b2")
    String betas;

    @Option(names = "--eps", defaultValue = "1e-8")
    double eps;

    @Option(names = "--epochs", defaultValue = "3")
    double epochs;

    @Option(names = "--max-steps", defaultValue = "-1", description = "Overrides --epochs when > 0.")
    long maxSteps;

    @Option(names = "--batch-size", defaultValue = "8")
    int batchSize;

    @Option(names = "--grad-accum", defaultValue = "1")
    int gradAccum;

    @Option(names = "--warmup-steps", defaultValue = "0")
    long warmupSteps;

    @Option(names = "--scheduler", defaultValue = "linear", paramLabel = "constant|linear|cosine")
    String scheduler;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "0 turns clipping off.")
    double maxGradNorm;

    @Mixin
    DataFlags dataFlags;

    @Option(names = "--packing", description = "Pack short examples into --max-length rows; each example attends only to itself "
            + "(padding-free training). Not with --method prefix or prompt.")
    boolean packing;

    @Option(names = "--bf16", description = "BF16 matrix products with F32 master weights.")
    boolean bf16;

    @Option(names = "--fp16", description = "F16 matrix products with dynamic loss scaling.")
    boolean fp16;

    @Option(names = "--gradient-checkpointing", description = "Recompute each block in backward to save memory.")
    boolean gradientCheckpointing;

    @Option(names = "--logging-steps", defaultValue = "10")
    long loggingSteps;

    @Option(names = "--save-steps", defaultValue = "0", description = "Checkpoint every N steps (0: none).")
    long saveSteps;

    @Option(names = "--save-total-limit", defaultValue = "0")
    int saveTotalLimit;

    @Option(names = "--eval-data", paramLabel = "FILE")
    Path evalData;

    @Option(names = "--eval-steps", defaultValue = "0")
    long evalSteps;

    @Option(names = "--resume", paramLabel = "DIR", description = "A checkpoint folder to continue from.")
    Path resume;

    @Option(names = "--no-shuffle", description = "Take the data in file order.")
    boolean noShuffle;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Option(names = "--nproc", paramLabel = "N", description = "Data-parallel on this machine: N ranks through Open MPI's mpirun, "
            + "each with --batch-size rows (under mpirun the ranks are detected and no flag is needed).")
    Integer nproc;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        common.apply();
        if (nproc != null) {
            return launchRanks();
        }
        Collective collective = DataParallelLaunch.collectiveFromEnvironment();
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
        args.validate();

        CausalLM base = QuantizedModels.load(model);
        Tokenizer tokenizer = LoadedModel.tokenizerFor(model, null, base.config().vocabSize());
        var options = dataFlags.options(tokenizer, model).withPacking(packing);
        if (packing && (method.equals("prefix") || method.equals("prompt"))) {
            throw new UsageException("--packing: --method " + method + " puts virtual tokens in front of a row, which packed examples "
                    + "cannot share; train without packing");
        }
        SftDataset train = SftDataset.load(data, tokenizer, options);
        SftDataset eval = evalData == null ? null : SftDataset.load(evalData, tokenizer, options);
        if (train.skippedRows() > 0 && collective.isMain()) {
            System.err.println("tessera train: skipped " + train.skippedRows() + " bad rows of " + data);
        }

        Trainer.LossFunction loss;
        Trainer.ModelSaver saver;
        Module trained;
        switch (method) {
            case "full" -> {
                if (!QuantizedModels.quantizedLayers(base).isEmpty()) {
                    throw new UsageException("--method full needs a full-precision model; " + model + " is 4-bit (use --method qlora)");
                }
                base.requiresGrad(true);
                loss = Trainer.LossFunction.withPacking(base::loss, base::loss);
                saver = base::save;
                trained = base;
            }
            case "lora", "qlora", "ia3", "prefix", "prompt", "adapter" -> {
                if (method.equals("qlora")) {
                    if (!QuantizedModels.quantizedLayers(base).isEmpty()) {
                        System.err.println("tessera train: " + model + " is already 4-bit; adding LoRA on top");
                    } else {
                        QuantType type = switch (quant) {
                            case "nf4" -> QuantType.NF4;
                            case "fp4" -> QuantType.FP4;
                            default -> throw new UsageException("--quant: expected nf4 or fp4, got '" + quant + "'");
                        };
                        QuantizedModels.quantize(base, new BitsAndBytesConfig(type, 64, doubleQuant, DType.F32, null));
                    }
                }
                PeftModel peft = PeftModel.of(base, peftConfig());
                if (collective.isMain()) {
                    System.err.println(peft.trainableParametersLine());
                }
                loss = Trainer.LossFunction.withPacking(peft::loss, peft::loss);
                saver = peft::save;
                trained = peft;
            }
            default -> throw new UsageException("--method: expected full, lora, qlora, ia3, prefix, prompt or adapter, got '" + method + "'");
        }
        Trainer trainer = new Trainer(trained, loss, saver, train.examples(), eval == null ? List.of() : eval.examples(),
                train.padId(), args, base.dropoutRng());
        Trainer.TrainingResult result = trainer.distributed(collective).train();
        if (!collective.isMain()) {
            return 0;
        }
        System.out.printf(Locale.ROOT, "{\"steps\": %d, \"train_loss\": %s, \"eval_loss\": %s, \"output\": \"%s\"}%n",
                result.steps(), json(result.finalTrainLoss()), result.evalLoss() == null ? "null" : json(result.evalLoss()),
                output.toString().replace("\\", "\\\\").replace("\"", "\\\""));
        return 0;
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
