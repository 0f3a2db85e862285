package dev.tessera.examples.cli;

import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.quant.QuantMemory;
import dev.tessera.training.BarChart;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera memory}: the notebook's memory tables — bytes to fine-tune a Llama-shaped model
 * in full (F32 weights, gradients and AdamW state: 16 bytes per parameter), with LoRA (BF16
 * frozen base, F32 adapter with its gradients and AdamW state) and with QLoRA (NF4 base with
 * double quantization, 4.127 bits per linear weight; embeddings and head BF16). Activations
 * depend on batch and sequence length and are left out, as in the notebook's table.
 */
@Command(name = "memory", mixinStandardHelpOptions = true,
        description = "Memory of full fine-tuning vs LoRA vs QLoRA for Llama-shaped models, as a table and a PNG.")
public final class MemoryCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--params", split = ",", defaultValue = "1B,7B,13B,70B", paramLabel = "SIZE",
            description = "Model sizes: 1B, 7B, 8B, 13B, 70B (Llama shapes) or a count like 350M, 2.5B (default: ${DEFAULT-VALUE}).")
    List<String> sizes;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--target-modules", split = ",", defaultValue = "q_proj,v_proj",
            description = "LoRA targets among q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj (default: ${DEFAULT-VALUE}).")
    List<String> targets;

    @Option(names = "--model", paramLabel = "DIR", description = "A Llama-family model folder: its own memory, formula vs predicted (vs measured with --run).")
    Path model;

    @Option(names = "--method", converter = NamedValues.MeasuredMethods.class, paramLabel = "full|lora|qlora",
            description = "With --model: one method (default: all three).")
    TrainMethod method;

    @Option(names = "--run", paramLabel = "DIR", description = "With --model and --method: a train run's output folder; adds its measured peaks.")
    Path run;

    @Option(names = "--batch-size", defaultValue = "1", description = "With --model: batch size for the activations (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "128", description = "With --model: tokens per row (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--output", defaultValue = "runs/memory", description = "Where memory.png goes (default: ${DEFAULT-VALUE}).")
    Path output;

    /** A Llama-shaped architecture. */
    record Shape(String name, int hidden, int layers, int intermediate, int heads, int kvHeads, int vocab, boolean tied) {
        long linearWeights() {
            long kvDim = (long) hidden / heads * kvHeads;
            long attention = (long) hidden * hidden * 2 + 2L * hidden * kvDim;
            long mlp = 3L * hidden * intermediate;
            return layers * (attention + mlp);
        }

        long otherWeights() {
            long embeddings = (long) vocab * hidden * (tied ? 1 : 2);
            long norms = (2L * layers + 1) * hidden;
            return embeddings + norms;
        }

        long total() {
            return linearWeights() + otherWeights();
        }

        long loraParams(int r, List<String> targets) {
            long kvDim = (long) hidden / heads * kvHeads;
            long perLayer = 0;
            for (String t : targets) {
                long in, out;
                switch (t) {
                    case "q_proj", "o_proj" -> { in = hidden; out = hidden; }
                    case "k_proj", "v_proj" -> { in = hidden; out = kvDim; }
                    case "gate_proj", "up_proj" -> { in = hidden; out = intermediate; }
                    case "down_proj" -> { in = intermediate; out = hidden; }
                    default -> throw new UsageException("--target-modules: unknown Llama module '" + t + "'");
                }
                perLayer += (long) r * (in + out);
            }
            return perLayer * layers;
        }
    }

    static Shape shape(String size) {
        return switch (size.toUpperCase(Locale.ROOT)) {
            case "1B" -> new Shape("1B", 2048, 16, 8192, 32, 8, 128256, true);
            case "7B" -> new Shape("7B", 4096, 32, 11008, 32, 32, 32000, false);
            case "8B" -> new Shape("8B", 4096, 32, 14336, 32, 8, 128256, false);
            case "13B" -> new Shape("13B", 5120, 40, 13824, 40, 40, 32000, false);
            case "70B" -> new Shape("70B", 8192, 80, 28672, 64, 8, 32000, false);
            default -> estimated(size);
        };
    }

    /** A Llama-like shape for a bare count: layers = hidden/128, intermediate = 8/3·hidden. */
    private static Shape estimated(String size) {
        String s = size.toUpperCase(Locale.ROOT);
        double scale = s.endsWith("B") ? 1e9 : s.endsWith("M") ? 1e6 : 0;
        double count;
        try {
            count = scale == 0 ? Double.NaN : Double.parseDouble(s.substring(0, s.length() - 1)) * scale;
        } catch (NumberFormatException e) {
            count = Double.NaN;
        }
        if (!(count >= 1e6 && count <= 1e13)) {
            throw new UsageException("--params: expected 1B, 7B, 8B, 13B, 70B or a count like 350M or 2.5B, got '" + size + "'");
        }
        // params ≈ 12·L·h² with L = h/128
        int hidden = (int) Math.max(128, Math.round(Math.cbrt(count * 128 / 12) / 128) * 128);
        int layers = Math.max(1, hidden / 128);
        return new Shape(size, hidden, layers, hidden * 8 / 3, Math.max(1, hidden / 128), Math.max(1, hidden / 128), 32000, false);
    }

    record Row(String size, String method, double weights, double gradients, double optimizer, long trainable, long total) {
        double sum() {
            return weights + gradients + optimizer;
        }
    }

    static List<Row> rows(Shape s, int r, List<String> targets) {
        double gib = 1024.0 * 1024 * 1024;
        long total = s.total();
        long lora = s.loraParams(r, targets);
        double qBytes = QuantMemory.storageBytes(s.linearWeights(), 64, true);
        List<Row> rows = new ArrayList<>();
        rows.add(new Row(s.name, "full", total * 4 / gib, total * 4 / gib, total * 8 / gib, total, total));
        rows.add(new Row(s.name, "lora", (total * 2 + lora * 4) / gib, lora * 4 / gib, lora * 8 / gib, lora, total + lora));
        rows.add(new Row(s.name, "qlora", (qBytes + s.otherWeights() * 2 + lora * 4) / gib, lora * 4 / gib, lora * 8 / gib, lora, total + lora));
        return rows;
    }

    /** The memory chart of the table's rows: one stacked bar per model size and method. */
    static BarChart chart(List<Row> rows) {
        BarChart chart = new BarChart("Fine-tuning memory by method (activations excluded)", "GiB", List.of("weights", "gradients", "optimizer"));
        for (Row row : rows) {
            chart.bar(row.size, row.method, row.weights, row.gradients, row.optimizer);
        }
        return chart;
    }

    @Override
    public Integer call() {
        common.apply();
        if (r < 1) {
            throw new UsageException("--r must be >= 1");
        }
        if (model != null) {
            if (run != null && method == null) {
                throw new UsageException("--run: say which --method the run used");
            }
            if (batchSize < 1 || maxLength < 1) {
                throw new UsageException("--batch-size and --max-length must be >= 1");
            }
            List<ModelMemory.Prediction> predictions = new ArrayList<>();
            for (String m : method == null ? List.of("full", "lora", "qlora") : List.of(method.toString())) {
                predictions.add(ModelMemory.predict(model, m, r, targets, batchSize, maxLength));
            }
            ModelMemory.report(model, predictions, run == null ? null : ModelMemory.measured(run), output.resolve("memory.png"));
            return 0;
        } else if (method != null || run != null) {
            throw new UsageException("--method and --run go with --model");
        }
        List<Row> all = new ArrayList<>();
        for (String size : sizes) {
            all.addAll(rows(shape(size.strip()), r, targets));
        }
        System.out.printf(Locale.ROOT, "%-6s %-6s %14s %11s %10s %10s %10s %11s%n", "model", "method", "trainable", "trainable%",
                "weights", "grads", "optimizer", "total GiB");
        for (Row row : all) {
            System.out.printf(Locale.ROOT, "%-6s %-6s %14s %10.4f%% %10.2f %10.2f %10.2f %11.2f%n", row.size, row.method,
                    String.format(Locale.ROOT, "%,d", row.trainable), 100.0 * row.trainable / row.total,
                    row.weights, row.gradients, row.optimizer, row.sum());
        }
        System.out.println("(LoRA r=" + r + " on " + String.join(",", targets) + "; activations not included)");
        Path png = output.resolve("memory.png");
        chart(all).writePng(png);
        System.out.println("wrote " + png);
        return 0;
    }
}
