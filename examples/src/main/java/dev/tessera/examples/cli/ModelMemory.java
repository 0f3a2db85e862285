package dev.tessera.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.io.WeightFolderReader;
import dev.tessera.nn.io.WeightFolders;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.quant.QuantMemory;
import dev.tessera.training.BarChart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code tessera memory --model DIR}: one model folder's fine-tuning memory three ways — the
 * notebook's formula (weights + gradients + AdamW state), Tessera's prediction of its peak live
 * off-heap bytes (weights as Tessera holds them: frozen ones at the checkpoint's width, 4-bit
 * ones packed; trainable F32 with gradients and optimizer state; activations of a
 * gradient-checkpointed step; the one tensor a streaming load widens), and, given a run's
 * folder, what that run measured (peak live off-heap bytes and peak resident memory).
 */
final class ModelMemory {
    private static final double GIB = 1024.0 * 1024 * 1024;
    /** Rows of logits the chunked loss holds at once (core's LinearCrossEntropy: 4 Mi floats). */
    private static final long LOSS_CHUNK_FLOATS = 1L << 22;

    private ModelMemory() {}

    record Prediction(String method, double formulaWeights, double formulaState, double weights, double trainingState,
                      double activations) {
        double formula() {
            return formulaWeights + formulaState;
        }

        double predicted() {
            return weights + trainingState + activations;
        }
    }

    static Prediction predict(Path dir, String method, int r, List<String> targets, int batch, int length) {
        ModelConfig c = ModelConfig.read(dir.resolve("config.json"));
        if (!c.modelType().equals("llama") && !c.modelType().equals("mistral") && !c.modelType().equals("qwen2")) {
            throw new UsageException("--model: memory predictions cover Llama-family models, got model_type " + c.modelType());
        }
        MemoryCommand.Shape s = new MemoryCommand.Shape(dir.getFileName().toString(), c.hiddenSize(), c.numLayers(),
                c.intermediateSize(), c.numHeads(), c.numKvHeads(), c.vocabSize(), c.tieWordEmbeddings());
        int stored = storedBytesPerWeight(dir);
        long total = s.total();
        long lora = s.loraParams(r, targets);
        MemoryCommand.Row formula = MemoryCommand.rows(s, r, targets).stream().filter(row -> row.method().equals(method))
                .findFirst().orElseThrow(() -> new UsageException("--method: expected full, lora or qlora, got '" + method + "'"));
        long trainable = method.equals("full") ? total : lora;
        double weights = switch (method) {
            case "full" -> total * 4.0;
            case "lora" -> total * (double) stored + lora * 4.0;
            default -> QuantMemory.storageBytes(s.linearWeights(), 64, true) + s.otherWeights() * (double) stored + lora * 4.0;
        };
        // gradients (F32) and AdamW's two F32 moments, or 8-bit paged moments for QLoRA
        double trainingState = trainable * (4.0 + (method.equals("qlora") ? 2.0 : 8.0));
        long tokens = (long) batch * length;
        long h = c.hiddenSize(), inter = c.intermediateSize(), heads = c.numHeads();
        double blockInputs = (double) c.numLayers() * tokens * h * 4;                     // kept by checkpointing
        double oneBlock = tokens * (12.0 * h + 4.0 * inter) * 4 + 3.0 * batch * heads * length * length * 4; // recomputed block
        double loss = 2.0 * Math.min(tokens, Math.max(1, LOSS_CHUNK_FLOATS / c.vocabSize())) * c.vocabSize() * 4;
        double largestF32 = 4.0 * Math.max((long) c.vocabSize() * h, inter * h);              // a streaming load widens one
        double activations = Math.max(blockInputs + oneBlock + loss, method.equals("full") ? 0 : largestF32);
        return new Prediction(method, formula.weights() * GIB, (formula.gradients() + formula.optimizer()) * GIB, weights,
                trainingState, activations);
    }

    /** Bytes per element of the checkpoint's largest tensor (2 for BF16/F16, 4 for F32). */
    private static int storedBytesPerWeight(Path dir) {
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            String best = null;
            long most = -1;
            for (String name : ckpt.names()) {
                long n = 1;
                for (int d : ckpt.shape(name)) {
                    n *= d;
                }
                if (n > most) {
                    most = n;
                    best = name;
                }
            }
            return best == null ? 4 : switch (ckpt.dtypeName(best)) {
                case "BF16", "F16" -> 2;
                default -> 4;
            };
        }
    }

    /** The largest peak_live_bytes and peak_rss_bytes a run's metrics.jsonl logged: {live, rss}. */
    static long[] measured(Path runDir) {
        Path metrics = runDir.resolve("metrics.jsonl");
        long live = -1, rss = -1;
        try {
            ObjectMapper json = new ObjectMapper();
            for (String line : Files.readAllLines(metrics)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = json.readTree(line);
                live = Math.max(live, n.path("peak_live_bytes").asLong(-1));
                rss = Math.max(rss, n.path("peak_rss_bytes").asLong(-1));
            }
        } catch (IOException e) {
            throw new UsageException("--run: cannot read " + metrics + " (" + e.getMessage() + ")");
        }
        if (live < 0 || rss < 0) {
            throw new UsageException("--run: " + metrics + " logs no peak_live_bytes / peak_rss_bytes (a run of this version writes them)");
        }
        return new long[] {live, rss};
    }

    /** Prints the table and writes memory.png; {@code measured} (live, rss) may be null. */
    static void report(Path dir, List<Prediction> rows, long[] measured, Path png) {
        System.out.printf(Locale.ROOT, "%-6s %12s %14s %14s %14s%n", "method", "formula GiB", "predicted GiB", "measured live",
                "measured RSS");
        BarChart chart = new BarChart("Fine-tuning memory of " + dir.getFileName(), "GiB",
                List.of("weights", "grads + optimizer", "activations / load", "measured"));
        for (Prediction p : rows) {
            String live = measured == null ? "-" : String.format(Locale.ROOT, "%.3f", measured[0] / GIB);
            String rss = measured == null ? "-" : String.format(Locale.ROOT, "%.3f", measured[1] / GIB);
            System.out.printf(Locale.ROOT, "%-6s %12.3f %14.3f %14s %14s%n", p.method(), p.formula() / GIB, p.predicted() / GIB, live, rss);
            chart.bar(p.method(), "formula", p.formulaWeights() / GIB, p.formulaState() / GIB, 0, 0);
            chart.bar(p.method(), "predicted", p.weights() / GIB, p.trainingState() / GIB, p.activations() / GIB, 0);
            if (measured != null) {
                chart.bar(p.method(), "live", 0, 0, 0, measured[0] / GIB);
                chart.bar(p.method(), "RSS", 0, 0, 0, measured[1] / GIB);
            }
        }
        System.out.println("(formula: the notebook's weights + gradients + AdamW; predicted: Tessera's peak live off-heap bytes; "
                + "measured: the run's peak live off-heap bytes and peak resident memory, JVM included)");
        chart.writePng(png);
        System.out.println("wrote " + png);
    }
}
