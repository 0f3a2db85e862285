package dev.tessera.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.examples.CliTest.Run;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.training.dist.DataParallelLaunch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training over Open MPI (issue 14): N ranks × batch B train as one process × batch
 * N·B, a dead or hung rank stops the job with one line, and its last checkpoint resumes, also
 * with another number of ranks. Tests that start ranks need Open MPI (tools/install-mpi.sh) and
 * are skipped, with that reason, where it is missing.
 */
class DataParallelTest {
    static final String MODEL = CliTest.BPE_MODEL.toString();
    static final String DATA = CliTest.ALPACA;
    static final ObjectMapper JSON = new ObjectMapper();

    /** The flags every run here shares: no dropout (each process draws its own masks), a fixed seed. */
    static List<String> trainArgs(String method, Path out, int batchSize, int maxSteps, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--model", MODEL, "--data", DATA, "--method", method, "--output", out.toString(),
                "--batch-size", Integer.toString(batchSize), "--max-steps", Integer.toString(maxSteps), "--logging-steps", "1",
                "--lr", "1e-3", "--dropout", "0", "--seed", "7"));
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void loraOnTwoRanksOfBatchTwoTrainsAsOneProcessOfBatchFour(@TempDir Path dir) throws Exception {
        assumeOpenMpi();
        Path one = dir.resolve("one"), two = dir.resolve("two");
        Run single = CliTest.run(trainArgs("lora", one, 4, 10).toArray(String[]::new));
        assertEquals(0, single.code(), single.err());
        Run ranks = runTwoRanks(trainArgs("lora", two, 2, 10));
        assertEquals(0, ranks.code(), ranks.err());
        assertSameLosses(one, two, 10);
        assertSameTensors(one.resolve("adapter_model.safetensors"), two.resolve("adapter_model.safetensors"), 1e-6);
        assertTrue(Files.size(two.resolve("loss.png")) > 1000, "rank 0 draws the loss curve");
        assertEquals(1, ranks.out().strip().lines().count(), "one summary line (rank 0's): " + ranks.out());
    }

    @Test
    void fullFineTuningOnTwoRanksWithGradientAccumulationTrainsAsOneProcess(@TempDir Path dir) throws Exception {
        assumeOpenMpi();
        Path one = dir.resolve("one"), two = dir.resolve("two");
        // 1 × batch 2 × 2 micro-batches against 2 ranks × batch 1 × 2 micro-batches: global batch 4 both
        // a full fine-tuning learning rate (1e-4): Adam turns round-off in near-zero gradients into steps of about lr
        Run single = CliTest.run(trainArgs("full", one, 2, 10, "--grad-accum", "2", "--max-grad-norm", "0.5", "--lr", "1e-4").toArray(String[]::new));
        assertEquals(0, single.code(), single.err());
        Run ranks = runTwoRanks(trainArgs("full", two, 1, 10, "--grad-accum", "2", "--max-grad-norm", "0.5", "--lr", "1e-4"));
        assertEquals(0, ranks.code(), ranks.err());
        assertSameLosses(one, two, 10);
        assertSameTensors(one.resolve("model.safetensors"), two.resolve("model.safetensors"), 1e-6);
    }

    @Test
    void aKilledRankStopsTheOtherWithOneLineAndTheLastCheckpointResumesOnOneProcess(@TempDir Path dir) throws Exception {
        assumeOpenMpi();
        Path out = dir.resolve("killed");
        Process job = startJob(trainArgs("lora", out, 2, 100_000, "--scheduler", "constant", "--save-steps", "2"), dir, Map.of());
        try {
            waitFor(out.resolve("checkpoint-4"), job);
            long killedAt = System.nanoTime();
            signal(rankProcess(job, 1), "KILL");
            assertTrue(job.waitFor(60, TimeUnit.SECONDS), "the job still runs 60 s after a rank was killed");
            double seconds = (System.nanoTime() - killedAt) / 1e9;
            assertEquals(1, job.exitValue());
            List<String> errors = tesseraLines(dir.resolve("stderr.txt"));
            assertEquals(1, errors.size(), "one line from the surviving rank: " + errors);
            assertTrue(errors.get(0).startsWith("tessera: rank 0 of 2 stopped"), errors.get(0));
            System.out.printf("killed rank 1: the job stopped %.1f s later%n", seconds);
        } finally {
            stop(job);
        }
        // the last checkpoint is whole and resumes with one process of batch 4 (the same global batch)
        int last;
        try (Stream<Path> list = Files.list(out)) {
            last = list.map(p -> p.getFileName().toString()).filter(n -> n.matches("checkpoint-\\d+"))
                    .mapToInt(n -> Integer.parseInt(n.substring(11))).max().orElseThrow();
        }
        Path resumed = dir.resolve("resumed"), reference = dir.resolve("reference");
        Run r = CliTest.run(trainArgs("lora", resumed, 4, last + 2, "--scheduler", "constant", "--resume",
                out.resolve("checkpoint-" + last).toString()).toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        Run ref = CliTest.run(trainArgs("lora", reference, 4, last + 2, "--scheduler", "constant").toArray(String[]::new));
        assertEquals(0, ref.code(), ref.err());
        JsonNode state = JSON.readTree(out.resolve("checkpoint-" + last).resolve("trainer_state.json").toFile());
        List<Double> before = new ArrayList<>();
        state.get("step_losses").forEach(n -> before.add(n.asDouble()));
        List<Double> expected = losses(reference);
        assertEquals(last, before.size());
        for (int i = 0; i < last; i++) {
            assertEquals(expected.get(i), before.get(i), 1e-5 * Math.abs(expected.get(i)), "2-rank loss at step " + (i + 1));
        }
        List<Double> after = losses(resumed);
        for (int i = 0; i < 2; i++) {
            assertEquals(expected.get(last + i), after.get(i), 1e-5 * Math.abs(expected.get(last + i)), "resumed loss at step " + (last + i + 1));
        }
        assertSameTensors(reference.resolve("adapter_model.safetensors"), resumed.resolve("adapter_model.safetensors"), 1e-6);
    }

    @Test
    void aHungRankMakesTheOthersStopAfterTheCollectiveTimeout(@TempDir Path dir) throws Exception {
        assumeOpenMpi();
        Path out = dir.resolve("hung");
        Process job = startJob(trainArgs("lora", out, 2, 100_000, "--save-steps", "2"), dir, Map.of("TESSERA_COLLECTIVE_TIMEOUT", "15"));
        ProcessHandle stopped = null;
        try {
            waitFor(out.resolve("checkpoint-2"), job);
            stopped = rankProcess(job, 1);
            signal(stopped, "STOP");
            assertTrue(job.waitFor(60, TimeUnit.SECONDS), "the job still runs 60 s after a rank hung");
            assertEquals(1, job.exitValue());
            List<String> errors = tesseraLines(dir.resolve("stderr.txt"));
            assertTrue(errors.stream().anyMatch(l -> l.startsWith("tessera: rank 0: MPI_Allreduce waited more than 15 s")), errors.toString());
        } finally {
            if (stopped != null && stopped.isAlive()) {
                signal(stopped, "CONT");
            }
            stop(job);
        }
    }

    @Test
    void withoutMpirunNprocSaysWhatToInstallInOneLine(@TempDir Path dir) throws Exception {
        Process job = startJob(trainArgs("lora", dir.resolve("out"), 2, 2, "--nproc", "2"), dir, Map.of("PATH", dir.toString()));
        assertTrue(job.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, job.exitValue());
        List<String> errors = tesseraLines(dir.resolve("stderr.txt"));
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).contains("mpirun") && errors.get(0).contains("apt-get install openmpi-bin libopenmpi-dev"), errors.get(0));
    }

    @Test
    void withoutLibmpiNprocSaysWhatToInstallInOneLine(@TempDir Path dir) throws Exception {
        Path fakeMpirun = dir.resolve("mpirun");
        Files.writeString(fakeMpirun, "#!/bin/sh\nexit 3\n");
        assertTrue(fakeMpirun.toFile().setExecutable(true));
        Process job = startJob(trainArgs("lora", dir.resolve("out"), 2, 2, "--nproc", "2"), dir,
                Map.of("PATH", dir.toString(), "TESSERA_MPI_LIB", dir.resolve("no-libmpi.so").toString()));
        assertTrue(job.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, job.exitValue());
        List<String> errors = tesseraLines(dir.resolve("stderr.txt"));
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).contains("no-libmpi.so") && errors.get(0).contains("install Open MPI"), errors.get(0));
    }

    // ------------------------------------------------------------------ helpers

    static void assumeOpenMpi() {
        DataParallelLaunch.openMpiUnavailableReason().ifPresent(reason -> Assumptions.abort(reason + " (tools/install-mpi.sh)"));
    }

    /** {@code train --nproc 2 ...} through the CLI of this JVM (the launcher runs mpirun). */
    static Run runTwoRanks(List<String> args) {
        List<String> a = new ArrayList<>(args);
        a.addAll(List.of("--nproc", "2"));
        return CliTest.run(a.toArray(String[]::new));
    }

    /** A separate {@code tessera train} JVM (so that signals and the environment are its own); output to files in {@code dir}. */
    static Process startJob(List<String> args, Path dir, Map<String, String> env) throws IOException {
        List<String> a = new ArrayList<>(args);
        if (!a.contains("--nproc")) {
            a.addAll(List.of("--nproc", "2"));
        }
        ProcessBuilder pb = new ProcessBuilder(DataParallelLaunch.javaCommand(Tessera.class.getName(), a))
                .redirectOutput(dir.resolve("stdout.txt").toFile()).redirectError(dir.resolve("stderr.txt").toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    static void waitFor(Path file, Process job) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!Files.exists(file)) {
            assertTrue(job.isAlive(), "the job ended before writing " + file);
            assertTrue(System.nanoTime() < deadline, "no " + file + " after 90 s");
            Thread.sleep(50);
        }
    }

    /** The JVM of rank {@code rank} among the job's descendants (found by OMPI_COMM_WORLD_RANK in its environment). */
    static ProcessHandle rankProcess(Process job, int rank) throws IOException {
        String marker = "OMPI_COMM_WORLD_RANK=" + rank;
        for (ProcessHandle p : job.descendants().toList()) {
            try {
                String env = new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "environ")), StandardCharsets.UTF_8);
                if (Arrays.asList(env.split("\0")).contains(marker) && p.info().command().orElse("").endsWith("java")) {
                    return p;
                }
            } catch (IOException | SecurityException e) {
                // the process ended or is not ours: not the rank
            }
        }
        throw new AssertionError("no process of rank " + rank + " among " + job.descendants().map(ProcessHandle::pid).toList());
    }

    static void signal(ProcessHandle p, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
    }

    static void stop(Process job) {
        job.descendants().forEach(ProcessHandle::destroyForcibly);
        job.destroyForcibly();
    }

    /** The lines of a run's stderr that Tessera wrote (not progress bars, not the JVM's warnings). */
    static List<String> tesseraLines(Path stderr) throws IOException {
        // messages, not progress lines ("tessera train: reading ...") or the device notice ("tessera: note: ...")
        return Files.readAllLines(stderr).stream()
                .filter(l -> l.startsWith("tessera") && !l.startsWith("tessera train: ") && !l.startsWith("tessera: note: ")).toList();
    }

    static List<Double> losses(Path out) throws IOException {
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.has("loss")) {
                losses.add(n.get("loss").asDouble());
            }
        }
        return losses;
    }

    static void assertSameLosses(Path one, Path two, int steps) throws IOException {
        List<Double> a = losses(one), b = losses(two);
        assertEquals(steps, a.size());
        assertEquals(steps, b.size(), "rank 0 alone writes metrics.jsonl, one line per step");
        for (int i = 0; i < steps; i++) {
            assertEquals(a.get(i), b.get(i), 1e-5 * Math.abs(a.get(i)), "loss at step " + (i + 1));
        }
    }

    static void assertSameTensors(Path a, Path b, double tolerance) {
        try (SafeTensorsFile x = SafeTensors.open(a); SafeTensorsFile y = SafeTensors.open(b)) {
            assertEquals(x.names(), y.names());
            double worst = 0;
            for (String name : x.names()) {
                float[] u = x.tensor(name).toFloatArray(), v = y.tensor(name).toFloatArray();
                assertEquals(u.length, v.length, name);
                for (int i = 0; i < u.length; i++) {
                    worst = Math.max(worst, Math.abs(u[i] - v[i]));
                }
            }
            assertTrue(worst <= tolerance, "largest difference " + worst + " between " + a + " and " + b);
            System.out.printf("%s: largest difference %.3g%n", b.getFileName(), worst);
        }
    }
}
