package dev.tessera.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.Scope;
import dev.tessera.examples.bench.DeviceLoadCheck;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.WeightFolders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training on the emulated CUDA device, in child JVMs so that it never becomes the default device
 * of the other CLI tests in this JVM: GPT-2-tiny trained 10 steps there and on the CPU (full, LoRA
 * and QLoRA with paged 8-bit AdamW, every loss within 1e-4 relative; {@code bench.DeviceTrainingCheck}),
 * paged AdamW and paged 8-bit AdamW bitwise equal to unpaged there ({@code bench.PagedOptimizerCheck}: fast tier
 * in device memory, slow tier in pinned host memory), and {@code tessera train --device cuda} end to end.
 */
class EmulatedDeviceTrainingTest {
    private static final Path EMULATOR = Path.of("../cuda-bindings/target/emulator/libtessera-cuda-emulator.so");

    /** Runs {@code mainClass} with {@code args} in a JVM whose CUDA device is the emulated one; returns its stdout. */
    private static Process emulated(String mainClass, String... args) throws IOException {
        assumeTrue(Files.isRegularFile(EMULATOR), "the emulated CUDA device was not built (no g++?)");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new java.util.ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-Dtessera.cuda.emulator=" + EMULATOR.toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    @Test
    void tenStepsOnTheEmulatedDeviceMatchTheCpuForFullLoraAndQlora() throws IOException, InterruptedException {
        Process p = emulated("dev.tessera.examples.bench.DeviceTrainingCheck", CliTest.FIXTURES.resolve("gpt2-tiny").toString(),
                "cuda");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the check did not finish");
        List<String> verdicts = out.lines().filter(l -> l.matches("(full |lora |qlora) (PASS|FAIL): .*")).toList();
        assertEquals(3, verdicts.size(), out);
        assertTrue(verdicts.stream().allMatch(l -> l.contains(" PASS: ")), out);
        assertEquals(0, p.exitValue(), out);
    }

    @Test
    void modelsLoadStraightToTheEmulatedDeviceAndLookUpIdsThere() throws IOException, InterruptedException {
        Process p = emulated(DeviceLoadCheck.class.getName(), Path.of("../nn/src/test/resources/fixtures").toAbsolutePath().toString());
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the check did not finish");
        for (String name : DeviceLoadCheck.names()) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(name + " PASS: ")), name + " did not pass:\n" + out);
        }
        assertEquals(0, p.exitValue(), out);
    }

    /** Runs the CLI in an emulated-device JVM; returns its stdout after checking it exited 0. */
    private static String cli(String... args) throws IOException, InterruptedException {
        Process p = emulated("dev.tessera.examples.Tessera", args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), String.join(" ", args) + " did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", args) + ": " + out);
        return out;
    }

    @Test
    void mergeOnTheEmulatedDeviceWritesTheCpusWeights(@TempDir Path dir) throws IOException, InterruptedException {
        Path data = dir.resolve("rows.jsonl");
        Files.writeString(data, "{\"input_ids\": [1, 5, 9, 3, 7, 2, 8, 4]}\n".repeat(8));
        String model = CliTest.FIXTURES.resolve("gpt2-tiny").toAbsolutePath().toString();
        cli("train", "--device", "cpu", "--model", model, "--data", data.toString(), "--format", "tokens", "--output",
                dir.resolve("lora").toString(), "--method", "lora", "--max-steps", "2", "--batch-size", "4",
                "--lr", "0.05");
        for (String device : List.of("cpu", "cuda")) {
            cli("merge", "--device", device, "--model", model, "--adapter", dir.resolve("lora").toString(), "--output",
                    dir.resolve("merged-" + device).toString());
        }
        try (var scope = Scope.open()) {
            Map<String, Tensor> cpu = WeightFolders.loadStateDict(dir.resolve("merged-cpu"));
            Map<String, Tensor> gpu = WeightFolders.loadStateDict(dir.resolve("merged-cuda"));
            Map<String, Tensor> base = WeightFolders.loadStateDict(Path.of(model));
            assertEquals(cpu.keySet(), gpu.keySet());
            boolean changed = false;
            for (String key : cpu.keySet()) {
                float[] a = cpu.get(key).toFloatArray(), b = gpu.get(key).toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    assertEquals(a[i], b[i], 1e-5 * Math.max(1, Math.abs(a[i])), key + "[" + i + "]");
                }
                changed |= base.containsKey(key) && !java.util.Arrays.equals(a, base.get(key).toFloatArray());
            }
            assertTrue(changed, "the adapter changed some weight");
        }
    }

    @Test
    void quantizeOnTheEmulatedDeviceWritesTheCpusBytes(@TempDir Path dir) throws IOException, InterruptedException {
        String model = CliTest.FIXTURES.resolve("gpt2-tiny").toAbsolutePath().toString();
        for (List<String> flags : List.of(List.of("--quant", "nf4", "--double-quant"), List.of("--quant", "fp4", "--blocksize", "32"))) {
            for (String device : List.of("cpu", "cuda")) {
                List<String> args = new java.util.ArrayList<>(List.of("quantize", "--device", device, "--model", model, "--output",
                        dir.resolve(flags.get(1) + "-" + device).toString()));
                args.addAll(flags);
                cli(args.toArray(String[]::new));
            }
            for (String file : List.of("model.safetensors", "config.json")) {
                byte[] cpu = Files.readAllBytes(dir.resolve(flags.get(1) + "-cpu").resolve(file));
                byte[] gpu = Files.readAllBytes(dir.resolve(flags.get(1) + "-cuda").resolve(file));
                assertTrue(java.util.Arrays.equals(cpu, gpu), flags + ": " + file + " differs between the CPU and the device");
            }
        }
    }

    /** Every "loss" and "eval_loss" of a metrics.jsonl, in order. */
    private static List<Double> losses(Path metrics) throws IOException {
        List<Double> out = new java.util.ArrayList<>();
        var pattern = java.util.regex.Pattern.compile("\"(?:eval_)?loss\":([-0-9.eE]+)");
        for (String line : Files.readAllLines(metrics)) {
            var m = pattern.matcher(line);
            while (m.find()) {
                out.add(Double.parseDouble(m.group(1)));
            }
        }
        return out;
    }

    @Test
    void theDemoOnTheEmulatedDeviceLearnsAsOnTheCpu(@TempDir Path dir) throws IOException, InterruptedException {
        // both runs at once: the emulated one takes about two minutes, the CPU's a fraction of that
        Map<String, Process> runs = new java.util.LinkedHashMap<>();
        for (String device : List.of("cpu", "cuda")) {
            runs.put(device, emulated("dev.tessera.examples.Tessera", "demo", "--device", device, "--steps", "2", "--output",
                    dir.resolve(device).toString()));
        }
        for (Map.Entry<String, Process> run : runs.entrySet()) {
            String out = new String(run.getValue().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(run.getValue().waitFor(5, TimeUnit.MINUTES), "demo on " + run.getKey() + " did not finish");
            assertEquals(0, run.getValue().exitValue(), run.getKey() + ": " + out);
            assertTrue(out.contains("qlora "), out);
        }
        for (String method : List.of("full", "lora", "qlora", "ia3", "lora-r4")) {
            List<Double> cpu = losses(dir.resolve("cpu").resolve(method).resolve("metrics.jsonl"));
            List<Double> gpu = losses(dir.resolve("cuda").resolve(method).resolve("metrics.jsonl"));
            assertEquals(cpu.size(), gpu.size(), method);
            assertTrue(!cpu.isEmpty(), method + " logged no loss");
            for (int i = 0; i < cpu.size(); i++) {
                assertEquals(cpu.get(i), gpu.get(i), 1e-4 * Math.abs(cpu.get(i)), method + " loss " + i);
            }
        }
    }

    @Test
    void pagedOptimizersOnTheEmulatedDeviceAreBitwiseEqualToUnpaged() throws IOException, InterruptedException {
        Process p = emulated("dev.tessera.examples.bench.PagedOptimizerCheck", "cuda");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the check did not finish");
        List<String> verdicts = out.lines().filter(l -> l.matches("paged-adamw(8bit)? +(PASS|FAIL): .*")).toList();
        assertEquals(2, verdicts.size(), out);
        assertTrue(verdicts.stream().allMatch(l -> l.contains(" PASS: ") && l.contains("on cuda:0")), out);
        assertEquals(0, p.exitValue(), out);
    }

    @Test
    void theTrainCommandRunsOnTheEmulatedDevice(@TempDir Path dir) throws IOException, InterruptedException {
        Path data = dir.resolve("rows.jsonl");
        Files.writeString(data, "{\"input_ids\": [1, 5, 9, 3, 7, 2, 8, 4]}\n".repeat(8));
        Process p = emulated("dev.tessera.examples.Tessera", "train", "--device", "cuda", "--model",
                CliTest.FIXTURES.resolve("gpt2-tiny").toAbsolutePath().toString(), "--data", data.toString(), "--format",
                "tokens", "--output", dir.resolve("out").toString(), "--method", "qlora", "--double-quant", "--optimizer",
                "paged-adamw8bit", "--max-steps", "2", "--logging-steps", "1", "--batch-size", "4");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "train did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith("{\"steps\": 2, \"train_loss\": "), out);
        assertEquals(2, Files.readAllLines(dir.resolve("out/metrics.jsonl")).stream().filter(l -> l.contains("\"loss\"")).count());
        assertTrue(Files.isRegularFile(dir.resolve("out/adapter_model.safetensors")));
    }
}
