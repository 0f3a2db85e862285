package dev.tessera.examples.cli;

import dev.tessera.core.Autograd;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.examples.demo.ByteLevelBpe;
import dev.tessera.examples.demo.DemoCorpus;
import dev.tessera.nn.Module;
import dev.tessera.nn.generate.GenerationConfig;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.nn.peft.Ia3Config;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.nn.peft.TargetModules;
import dev.tessera.nn.tokenizer.Tokenizer;
import dev.tessera.nn.tokenizer.Tokenizers;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.QuantMemory;
import dev.tessera.quant.QuantType;
import dev.tessera.quant.QuantizedModels;
import dev.tessera.training.LineChart;
import dev.tessera.training.Trainer;
import dev.tessera.training.TrainingArguments;
import dev.tessera.training.data.DataOptions;
import dev.tessera.training.optim.OptimizerType;
import dev.tessera.training.optim.SchedulerType;
import dev.tessera.training.data.GenerationPrompt;
import dev.tessera.training.data.SftDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera demo}: the notebook's story in miniature, on generated data so it runs anywhere
 * in well under a minute. A small GPT-2 (and its byte-level BPE tokenizer) is pre-trained from
 * scratch on generated sentences; that base model is then instruction-tuned on Alpaca rows, with
 * the notebook's prompt template and the loss on the responses only, by full fine-tuning, LoRA
 * (r 8, alpha 16, dropout 0.1), QLoRA (NF4, double quantization, paged 8-bit AdamW) and IA3. One
 * table compares them; each method answers the same prompts before and after; the notebook's
 * Exercise 1, a LoRA rank sweep, ends it. Everything is seeded, so a run is repeatable.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Pre-train a small GPT-2 on generated text, instruction-tune it with full fine-tuning, LoRA, QLoRA and IA3, "
                + "compare them in one table with generations before and after, and sweep LoRA's rank.",
            "Outputs under --output: data/, base/, one folder per method, loss.png, rank-sweep.png."})
public final class DemoCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--output", defaultValue = "runs/demo", description = "Output folder.")
    Path output;

    @Option(names = "--steps", defaultValue = "100", description = "Instruction-tuning steps per method (pre-training takes twice as many; each rank of the sweep 40%).")
    int steps;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the data, the model and training.")
    long seed;

    /** The methods' learning rates, tuned so each learns in its own regime (IA3 only rescales activations: it needs a large one). */
    static final double LR_PRETRAIN = 3e-3, LR_FULL = 1e-3, LR_LORA = 1e-2, LR_IA3 = 1e-1;
    static final int BATCH = 16;
    static final int[] SWEEP_RANKS = {1, 2, 4, 8, 16, 32, 64};

    /** Prompts answered before and after tuning: one per task, drawn apart from the training rows. */
    static final List<DemoCorpus.Row> PROMPTS = List.of(
            new DemoCorpus.Row("Name the color.", "eve finds the green boat.", "green"),
            new DemoCorpus.Row("Name the person.", "the white dog is near cara.", "cara"),
            new DemoCorpus.Row("Repeat the words twice.", "yellow bird", "yellow bird yellow bird"));

    static ModelConfig config(int vocab) {
        return ModelConfig.parse("""
                {"model_type": "gpt2", "vocab_size": %d, "n_positions": 128, "n_embd": 64, "n_layer": 2, "n_head": 4,
                 "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
                 "attn_pdrop": 0.0, "bos_token_id": %d, "eos_token_id": %d}""".formatted(vocab, vocab - 1, vocab - 1), "the demo's config");
    }

    /** One row of the comparison table. */
    record Row(String method, double lr, long trainable, long total, long weightBytes, long peakBytes, List<Double> losses,
               double evalLoss, double secondsPerStep, List<String> before, List<String> after) {
        double first() {
            return losses.get(0);
        }

        double last() {
            return losses.get(losses.size() - 1);
        }
    }

    /** The charts the run drew (tests read their axes). */
    LineChart lossChart, sweepChart;

    private Tokenizer tokenizer;
    private SftDataset train, eval;
    /** Where every model of the run lives and computes (--device). */
    private Device device = Device.CPU;

    @Override
    public Integer call() {
        common.apply();
        if (steps < 2) {
            throw new UsageException("--steps must be >= 2, got " + steps);
        }
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new TesseraException("--output " + output + ": is a file, expected a folder");
        }
        device = common.device();
        long start = System.nanoTime();
        Path dataDir = output.resolve("data"), baseDir = output.resolve("base");
        DemoCorpus corpus = new DemoCorpus(seed);
        List<String> paragraphs = corpus.paragraphs(600);
        List<DemoCorpus.Row> trainRows = corpus.rows(480), evalRows = corpus.rows(48);
        writeData(dataDir, paragraphs, trainRows, evalRows);
        List<String> tokenizerCorpus = new ArrayList<>(paragraphs);
        trainRows.forEach(r -> tokenizerCorpus.add("### Instruction:\n" + r.instruction() + "\n\n### Input:\n" + r.input() + "\n\n### Response:\n" + r.output()));
        int vocab = ByteLevelBpe.train(tokenizerCorpus, 250, baseDir);
        tokenizer = Tokenizers.load(baseDir);
        DataOptions options = DataOptions.defaults().withMaxLength(128);
        SftDataset pretrainData = SftDataset.loadForTraining(dataDir.resolve("pretrain.txt"), tokenizer, options);
        train = SftDataset.loadForTraining(dataDir.resolve("train.jsonl"), tokenizer, options);
        eval = SftDataset.loadForTraining(dataDir.resolve("eval.jsonl"), tokenizer, options);

        System.out.printf(Locale.ROOT, "Tessera demo (outputs in %s)%n%n", output);
        System.out.printf(Locale.ROOT, "1. Pre-training: a 2-layer GPT-2 (n_embd 64, %,d-token byte-level BPE trained on the data) learns from scratch%n"
                + "   on %d paragraphs of generated sentences (\"%s\"), %d steps.%n", vocab, paragraphs.size(), paragraphs.get(0).substring(0, 40) + "...", 2 * steps);
        long baseline = startMeasuring();
        CausalLM scratch = CausalLM.create(config(vocab), seed).to(device);
        scratch.requiresGrad(true);
        Row pre = train("pretrain", scratch, scratch, scratch::loss, scratch::save, pretrainData.examples(), List.of(), baseDir, LR_PRETRAIN,
                2 * steps, OptimizerType.ADAMW, baseline);
        scratch.release();
        System.out.printf(Locale.ROOT, "   loss %.2f -> %.2f (ln %d = %.2f is a uniform guess over the vocabulary).%n%n", pre.first(), pre.last(), vocab, Math.log(vocab));

        System.out.printf(Locale.ROOT, "2. Instruction tuning on %d Alpaca rows (%s), the notebook's template%n"
                + "   \"### Instruction:\\n{instruction}\\n\\n### Input:\\n{input}\\n\\n### Response:\\n{output}<eos>\", loss on the response only;%n"
                + "   %d steps of batch %d per method, eval on %d held-out rows.%n", train.rows(), "name the color / name the person / repeat the words twice",
                steps, BATCH, eval.rows());
        List<Row> rows = new ArrayList<>();
        rows.add(full(baseDir));
        rows.add(peft("lora", baseDir, false, lora(baseDir, 8, 16, 0.1), LR_LORA, steps, OptimizerType.ADAMW, true));
        rows.add(peft("qlora", baseDir, true, lora(baseDir, 8, 16, 0.1), LR_LORA, steps, OptimizerType.PAGED_ADAMW_8BIT, true));
        rows.add(peft("ia3", baseDir, false, Ia3Config.defaults().withBaseModelNameOrPath(baseDir.toString()), LR_IA3, steps, OptimizerType.ADAMW, true));
        printTable(rows, vocab);
        printGenerations(rows);
        drawLosses(rows);

        System.out.printf(Locale.ROOT, "3. Exercise 1: LoRA rank sweep (alpha = 2r, so alpha/r stays the notebook's 16/8; lr %.0e, %d steps each)%n", LR_LORA, sweepSteps());
        List<Row> sweep = new ArrayList<>();
        for (int r : SWEEP_RANKS) {
            sweep.add(peft("lora-r" + r, baseDir, false, lora(baseDir, r, 2 * r, 0.1), LR_LORA, sweepSteps(), OptimizerType.ADAMW, false));
        }
        printSweep(sweep);
        drawSweep(sweep);
        System.out.printf(Locale.ROOT, "%nOutputs: %s/{full,lora,qlora,ia3} (model or adapter, metrics.jsonl, loss.png), loss.png, rank-sweep.png, "
                + "data/, base/. Total %.1f s.%n", output, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private int sweepSteps() {
        return Math.max(2, steps * 2 / 5);
    }

    private static void writeData(Path dir, List<String> paragraphs, List<DemoCorpus.Row> trainRows, List<DemoCorpus.Row> evalRows) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("pretrain.txt"), String.join("\n", paragraphs) + "\n");
            Files.writeString(dir.resolve("train.jsonl"), trainRows.stream().map(DemoCorpus.Row::json).collect(Collectors.joining("\n")) + "\n");
            Files.writeString(dir.resolve("eval.jsonl"), evalRows.stream().map(DemoCorpus.Row::json).collect(Collectors.joining("\n")) + "\n");
        } catch (IOException e) {
            throw new TesseraException(dir + ": cannot write the demo data: " + e.getMessage(), e);
        }
    }

    private static LoraConfig lora(Path baseDir, int r, double alpha, double dropout) {
        return LoraConfig.defaults().withR(r).withLoraAlpha(alpha).withLoraDropout(dropout).withTargetModules(TargetModules.allLinear())
                .withBaseModelNameOrPath(baseDir.toString());
    }

    /** The tensor bytes live before a run's model is loaded (what earlier runs left): its peak is counted above them. */
    private long startMeasuring() {
        return device.isCpu() ? Backends.cpuAllocator().liveBytes() : Backends.of(device).liveBytes();
    }

    private Row full(Path baseDir) {
        long baseline = startMeasuring();
        CausalLM model = CausalLM.load(baseDir, device);
        List<String> before = generations(model, null);
        model.requiresGrad(true);
        Path dir = output.resolve("full");
        Row r = train("full", model, model, model::loss, d -> {
            model.save(d);
            MergeCommand.copyCompanions(baseDir, d);
        }, train.examples(), eval.examples(), dir, LR_FULL, steps, OptimizerType.ADAMW, baseline);
        Row done = withGenerations(r, before, generations(model, null));
        model.release();
        return done;
    }

    private Row peft(String method, Path baseDir, boolean quantize, PeftConfig config, double lr, int runSteps, OptimizerType optimizer,
                     boolean generate) {
        long baseline = startMeasuring();
        CausalLM base = CausalLM.load(baseDir, device);
        if (quantize) {   // on the device, through its backend's 4-bit quantize
            QuantizedModels.quantize(base, new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F32, null));
        }
        long baseBytes = weightBytes(base);
        PeftModel peft = PeftModel.of(base, config).to(device);
        List<String> before = generate ? generations(base, peft) : List.of();
        Row r = train(method, base, peft, peft::loss, peft::save, train.examples(), eval.examples(), output.resolve(method), lr, runSteps, optimizer, baseline);
        long[] counts = peft.trainableParameterCounts(); // PEFT's way: a packed 4-bit byte holds two weights
        Row done = new Row(r.method, lr, counts[0], counts[1], baseBytes, r.peakBytes, r.losses, r.evalLoss, r.secondsPerStep,
                before, generate ? generations(base, peft) : List.of());
        base.release();
        return done;
    }

    private static Row withGenerations(Row r, List<String> before, List<String> after) {
        return new Row(r.method, r.lr, r.trainable, r.total, r.weightBytes, r.peakBytes, r.losses, r.evalLoss, r.secondsPerStep, before, after);
    }

    private Row train(String method, CausalLM base, Module trained, Trainer.LossFunction loss, Trainer.ModelSaver saver,
                      List<dev.tessera.training.data.Example> data, List<dev.tessera.training.data.Example> evalData,
                      Path dir, double lr, int runSteps, OptimizerType optimizer, long baseline) {
        var args = new TrainingArguments(dir).learningRate(lr).maxSteps(runSteps).batchSize(BATCH).loggingSteps(10).seed(seed)
                .runName("demo " + method).warmupSteps(Math.min(10, runSteps / 10)).lrSchedulerType(SchedulerType.COSINE).optim(optimizer);
        System.err.println("demo: training " + method + " (" + runSteps + " steps)");
        long weightBytes = weightBytes(base);
        var allocator = Backends.cpuAllocator();
        var backend = Backends.of(device);
        // the peak of training itself (QLoRA's F32 load before quantizing is not counted)
        if (device.isCpu()) {
            allocator.resetPeak();
        } else {
            backend.resetPeakLiveBytes();
        }
        long t0 = System.nanoTime();
        Trainer.TrainingResult result = new Trainer(trained, loss, saver, data, evalData, train == null ? 0 : train.padId(), args,
                base.dropoutRng()).train();
        double secondsPerStep = (System.nanoTime() - t0) / 1e9 / runSteps;
        long peak = device.isCpu() ? allocator.peakLiveBytes() : backend.peakLiveBytes();
        return new Row(method, lr, trained.parameterCount(true), trained.parameterCount(false), weightBytes, peak - baseline,
                result.stepLosses(), result.evalLoss() == null ? Double.NaN : result.evalLoss(), secondsPerStep, List.of(), List.of());
    }

    /** Greedy answers to the demo's prompts, stopping at EOS, special tokens left out. */
    private List<String> generations(CausalLM base, PeftModel peft) {
        base.train(false);
        if (peft != null) {
            peft.train(false);
        }
        int eos = tokenizer.eosId().getAsInt();
        List<String> out = new ArrayList<>();
        try (var ng = Autograd.noGrad()) {
            for (DemoCorpus.Row p : PROMPTS) {
                int[] ids = GenerationPrompt.alpaca(p.instruction(), p.input(), tokenizer);
                int[] gen = GenerateCommand.generator(base, peft).generate(ids, GenerationConfig.greedy(12).withEosTokenIds(eos));
                int[] text = Arrays.stream(gen).filter(id -> id != eos).toArray();
                out.add(tokenizer.decode(text).replace("\n", "\\n").strip());
            }
        }
        return out;
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

    static void printTable(List<Row> rows, int vocab) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-6s %9s %10s %11s %10s %7s %6s %6s %6s %7s %7s%n", "method", "trainable", "trainable%",
                "base KiB", "peak KiB", "lr", "first", "final", "eval", "eval<1st", "s/step");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-6s %9s %9.2f%% %11s %10s %7.0e %6.3f %6.3f %6.3f %7.0f%% %7.3f%n", r.method,
                    String.format(Locale.ROOT, "%,d", r.trainable), 100.0 * r.trainable / r.total,
                    String.format(Locale.ROOT, "%,d", r.weightBytes / 1024), String.format(Locale.ROOT, "%,d", r.peakBytes / 1024),
                    r.lr, r.first(), r.last(), r.evalLoss, 100 * (1 - r.evalLoss / r.first()), r.secondsPerStep);
        }
        System.out.printf(Locale.ROOT, "%nfirst/final: training loss on the responses at the first and last step; eval: held-out rows; "
                + "eval<1st: how far eval loss fell below the first loss.%n"
                + "base: the base model's weights as stored (QLoRA: 4-bit codes + scales); peak: most tensor memory live during training "
                + "(weights, activations, gradients, optimizer state).%n"
                + "The first loss is high (above ln %d = %.2f, a uniform guess) because the base model has never seen \"### Response:\" "
                + "followed by an answer: it confidently continues with a sentence instead.%n%n", vocab, Math.log(vocab));
    }

    static void printGenerations(List<Row> rows) {
        System.out.println("Generations (greedy, up to 12 tokens, stopping at EOS), before -> after instruction tuning:");
        for (int p = 0; p < PROMPTS.size(); p++) {
            DemoCorpus.Row prompt = PROMPTS.get(p);
            System.out.printf(Locale.ROOT, "  %s  %s  (expected: %s)%n", prompt.instruction(), prompt.input(), prompt.output());
            for (Row r : rows) {
                System.out.printf(Locale.ROOT, "    %-6s %-32s -> %s%n", r.method, quote(r.before.get(p)), quote(r.after.get(p)));
            }
        }
        System.out.println();
    }

    private static String quote(String s) {
        return "\"" + (s.length() > 30 ? s.substring(0, 27) + "..." : s) + "\"";
    }

    private void drawLosses(List<Row> rows) {
        LineChart chart = new LineChart("Tessera demo: instruction-tuning loss (responses only), per method", "step", "training loss");
        for (Row r : rows) {
            double[] x = new double[r.losses.size()], y = new double[r.losses.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = i + 1;
                y[i] = r.losses.get(i);
            }
            chart.series(r.method + " (lr " + String.format(Locale.ROOT, "%.0e", r.lr) + ")", x, y);
            chart.points(r.method + " eval", new double[] {r.losses.size()}, new double[] {r.evalLoss});
        }
        lossChart = chart;
        writeChart(chart, output.resolve("loss.png"));
    }

    static void printSweep(List<Row> sweep) {
        System.out.printf(Locale.ROOT, "%5s %10s %10s %9s %9s%n", "r", "trainable", "trainable%", "first", "eval");
        for (Row r : sweep) {
            System.out.printf(Locale.ROOT, "%5s %10s %9.2f%% %9.3f %9.3f%n", r.method.substring("lora-r".length()),
                    String.format(Locale.ROOT, "%,d", r.trainable), 100.0 * r.trainable / r.total, r.first(), r.evalLoss);
        }
    }

    private void drawSweep(List<Row> sweep) {
        double[] ranks = new double[sweep.size()], evalLoss = new double[sweep.size()];
        for (int i = 0; i < ranks.length; i++) {
            ranks[i] = SWEEP_RANKS[i];
            evalLoss[i] = sweep.get(i).evalLoss;
        }
        sweepChart = new LineChart("Exercise 1: LoRA rank sweep (alpha = 2r), eval loss after " + sweep.get(0).losses.size() + " steps",
                "LoRA rank r", "eval loss").series("eval loss", ranks, evalLoss, true);
        writeChart(sweepChart, output.resolve("rank-sweep.png"));
    }

    private static void writeChart(LineChart chart, Path png) {
        try {
            chart.writePng(png);
        } catch (TesseraException e) {
            System.err.println("warning: no chart: " + e.getMessage());
        }
    }
}
