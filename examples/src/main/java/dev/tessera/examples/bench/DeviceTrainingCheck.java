package dev.tessera.examples.bench;

import dev.tessera.core.Device;
import dev.tessera.examples.Tessera;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Trains a GPT-2 for 10 steps with {@code tessera train} on the CPU and on a CUDA device, the same
 * data and seed, for full fine-tuning (AdamW), LoRA (AdamW) and QLoRA (NF4 + double quantization,
 * paged 8-bit AdamW, r 128 so its LoRA matrices get 8-bit state), and compares every logged loss:
 * each must be within 1e-4 relative of the CPU's. Prints one line per method and a verdict; exits
 * 1 when a loss differs or a run fails. The device is a GPU, or the emulated one
 * ({@code -Dtessera.cuda.emulator=PATH}).
 *
 * <pre>
 * java ... dev.tessera.examples.bench.DeviceTrainingCheck nn/src/test/resources/fixtures/gpt2-tiny [cuda]
 * </pre>
 */
public final class DeviceTrainingCheck {
    static final double TOLERANCE = 1e-4;
    private static final Pattern LOSS = Pattern.compile("\"loss\"\\s*:\\s*([0-9.eE+-]+|NaN)");

    private DeviceTrainingCheck() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: DeviceTrainingCheck MODEL_DIR [cuda|cuda:N]");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        String device = args.length > 1 ? args[1] : "cuda";
        Device.parse(device);
        Path work = Files.createTempDirectory("tessera-device-check");
        try {
            Path data = work.resolve("rows.jsonl");
            writeRows(data, model);
            boolean ok = true;
            for (String method : List.of("full", "lora", "qlora")) {
                List<Double> cpu = train(model, data, work.resolve(method + "-cpu"), method, "cpu");
                List<Double> gpu = train(model, data, work.resolve(method + "-" + device.replace(':', '-')), method, device);
                double worst = worstRelative(cpu, gpu);
                boolean pass = cpu.size() == 10 && gpu.size() == 10 && worst <= TOLERANCE;
                ok &= pass;
                System.out.printf(Locale.ROOT, "%-5s %s: 10 steps, max relative loss difference %.2e (cpu %s, %s %s)%n",
                        method, pass ? "PASS" : "FAIL", worst, cpu, device, gpu);
            }
            System.out.println(ok ? "device training check: PASS" : "device training check: FAIL");
            if (!ok) {
                System.exit(1);
            }
        } finally {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The losses of a 10-step run, one per step, from its metrics.jsonl. */
    static List<Double> train(Path model, Path data, Path out, String method, String device) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--format", "tokens", "--output", out.toString(), "--device", device, "--max-steps", "10",
                "--batch-size", "4", "--lr", "1e-3", "--logging-steps", "1", "--save-steps", "0", "--no-shuffle",
                "--seed", "3", "--method", method));
        switch (method) {
            case "lora" -> a.addAll(List.of("--dropout", "0"));
            case "qlora" -> a.addAll(List.of("--dropout", "0", "--r", "128", "--alpha", "256", "--quant", "nf4",
                    "--double-quant", "--optimizer", "paged-adamw8bit"));
            default -> { }
        }
        int code = Tessera.run(a.toArray(String[]::new));
        if (code != 0) {
            throw new IllegalStateException("tessera " + String.join(" ", a) + " exited " + code);
        }
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            Matcher m = LOSS.matcher(line);
            if (line.contains("\"step\"") && m.find()) {
                losses.add(Double.parseDouble(m.group(1)));
            }
        }
        return losses;
    }

    static double worstRelative(List<Double> expected, List<Double> actual) {
        if (expected.size() != actual.size()) {
            return Double.POSITIVE_INFINITY;
        }
        double worst = 0;
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.get(i), g = actual.get(i);
            double rel = Math.abs(g - e) / Math.max(Math.abs(e), 1e-12);
            worst = Double.isNaN(rel) ? Double.POSITIVE_INFINITY : Math.max(worst, rel);
        }
        return worst;
    }

    /** 40 rows of 24 random token ids below the model's vocabulary (fixed seed). */
    private static void writeRows(Path file, Path model) throws IOException {
        Matcher vocab = Pattern.compile("\"vocab_size\"\\s*:\\s*(\\d+)").matcher(Files.readString(model.resolve("config.json")));
        int v = vocab.find() ? Integer.parseInt(vocab.group(1)) : 96;
        Random rng = new Random(1);
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < 40; r++) {
            sb.append("{\"input_ids\": [");
            for (int i = 0; i < 24; i++) {
                sb.append(i == 0 ? "" : ", ").append(rng.nextInt(v));
            }
            sb.append("]}\n");
        }
        Files.writeString(file, sb);
    }
}
