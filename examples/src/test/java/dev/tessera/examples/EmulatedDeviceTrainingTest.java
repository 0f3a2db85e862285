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
