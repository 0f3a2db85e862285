package dev.tessera.examples;

import static dev.tessera.examples.CliTest.BPE_MODEL;
import static dev.tessera.examples.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.examples.CliTest.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 15: what a new user hits in the first hour — no silent failures, errors in their words, honest help. */
class FirstHourTest {
    static final String ALPACA = CliTest.ALPACA;
    static final ObjectMapper JSON = new ObjectMapper();
    /** A Java class name in a message (DataException:, NullPointerException, ...). */
    static final Pattern CLASS_NAME = Pattern.compile("\\b[A-Z][A-Za-z]+(Exception|Error)\\b");

    static String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--model", BPE_MODEL.toString(), "--data", ALPACA, "--output", out.toString(),
                "--max-steps", "2", "--batch-size", "4", "--logging-steps", "1"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    static void assertOneLineError(Run r, int code, String... mustContain) {
        assertEquals(code, r.code(), r.err());
        // progress lines ("tessera train: reading ...") and the device notice ("tessera: note: running on
        // the CPU ...") may come first; the error is the one last line
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.stream().filter(l -> !l.startsWith("tessera train: ") && !l.startsWith("tessera: note: ")).count(),
                "one error line:\n" + r.err());
        assertTrue(lines.get(lines.size() - 1).startsWith("tessera: "), r.err());
        assertFalse(CLASS_NAME.matcher(r.err()).find(), "no Java class names: " + r.err());
        for (String s : mustContain) {
            assertTrue(r.err().contains(s), "'" + s + "' in " + r.err());
        }
    }

    /** A model folder that fails the moment its weights are read: errors about it prove the cheap checks came first. */
    static Path modelWithBrokenWeights(Path dir) throws IOException {
        Path m = dir.resolve("broken-model");
        Files.createDirectories(m);
        try (Stream<Path> files = Files.list(BPE_MODEL)) {
            for (Path f : files.toList()) {
                Files.copy(f, m.resolve(f.getFileName()));
            }
        }
        Files.write(m.resolve("model.safetensors"), new byte[] {1, 2, 3});
        return m;
    }

    @Test
    void aRunWithNothingToLearnExitsOneSayingWhy(@TempDir Path dir) {
        Path out = dir.resolve("out");
        Run r = run(train(out, "--max-length", "4"));
        assertOneLineError(r, 1, "nothing to train on", "--max-length");
        assertFalse(Files.exists(out.resolve("adapter_model.safetensors")), "no untrained adapter is saved");
    }

    @Test
    void aChatFileWithoutAssistantTurnsExitsOne(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("chat.jsonl");
        Files.writeString(data, "{\"messages\": [{\"role\": \"user\", \"content\": \"What color is the car?\"}]}\n");
        Run r = run("train", "--model", BPE_MODEL.toString(), "--data", data.toString(), "--output", dir.resolve("o").toString(), "--max-steps", "2");
        assertOneLineError(r, 1, "nothing to train on");
    }

    @Test
    void rowsWithoutLabelsAreDroppedAndNamedAndTheRunGoesOn(@TempDir Path dir) throws Exception {
        Path chat = dir.resolve("chat.jsonl");
        Files.writeString(chat, """
                {"messages": [{"role": "user", "content": "What color is the car?"}, {"role": "assistant", "content": "Blue."}]}
                {"messages": [{"role": "user", "content": "Anyone there?"}]}
                {"messages": [{"role": "user", "content": "What color is the bird?"}, {"role": "assistant", "content": "Yellow."}]}
                """);
        Run r = run("train", "--model", BPE_MODEL.toString(), "--data", chat.toString(), "--output", dir.resolve("o").toString(),
                "--max-steps", "2", "--batch-size", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("dropped 1 rows of " + chat + " with nothing to train on") && r.err().contains("lines 2"), r.err());
        // unreadable rows skipped on request are named by line too
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, Files.readString(Path.of(ALPACA)).lines().limit(4).reduce("", (a, b) -> a + b + "\n")
                + "{\"instruction\": \"no output\"}\n");
        r = run("train", "--model", BPE_MODEL.toString(), "--data", bad.toString(), "--output", dir.resolve("o2").toString(),
                "--max-steps", "2", "--batch-size", "2", "--skip-bad-rows");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped 1 unreadable rows") && r.err().contains("(lines 5)"), r.err());
    }

    @Test
    void tooLongRowsAreTruncatedToTheModelsContextAndTheRunFinishes(@TempDir Path dir) throws Exception {
        // the fixture's context is 128 positions; a 300-word answer is far longer
        Path data = dir.resolve("long.jsonl");
        String longAnswer = String.join(" ", java.util.Collections.nCopies(300, "red"));
        Files.writeString(data, Files.readString(Path.of(ALPACA)) + "{\"instruction\": \"Say red a lot.\", \"input\": \"\", \"output\": \"" + longAnswer + "\"}\n");
        Path out = dir.resolve("o");
        Run r = run("train", "--model", BPE_MODEL.toString(), "--data", data.toString(), "--output", out.toString(),
                "--max-steps", "14", "--batch-size", "4", "--no-shuffle");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.contains("1 rows of") && l.contains("truncated") && l.contains("128")).count(), r.err());
        assertEquals(14, JSON.readTree(r.out().strip()).get("steps").asInt());
        assertOneLineError(run(train(dir.resolve("o2"), "--max-length", "4096")), 2, "--max-length 4096", "context of 128");
    }

    @Test
    void flagsThatWouldBeIgnoredWarnNamingThem(@TempDir Path dir) {
        Run r = run(train(dir.resolve("a"), "--method", "lora", "--double-quant"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: --double-quant only appl"), r.err());
        r = run(train(dir.resolve("b"), "--method", "full", "--r", "16", "--alpha", "32"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: --r, --alpha only apply to --method lora or qlora"), r.err());
        r = run(train(dir.resolve("c"), "--chat-template", "chatml"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: --chat-template chatml is ignored") && r.err().contains("alpaca"), r.err());
        r = run(train(dir.resolve("d"), "--eval-steps", "1"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: --eval-steps 1 is ignored without --eval-data"), r.err());
    }

    @Test
    void resumingADifferentRunIsRefusedBeforeLoading(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Run first = run(train(out, "--max-steps", "3", "--save-steps", "2"));
        assertEquals(0, first.code(), first.err());
        Path checkpoint = out.resolve("checkpoint-2");
        assertTrue(Files.isDirectory(checkpoint));
        assertOneLineError(run(train(dir.resolve("o2"), "--max-steps", "3", "--resume", checkpoint.toString(), "--method", "ia3")),
                2, "different run", "--method ia3 (checkpoint: lora)");
        assertOneLineError(run(train(dir.resolve("o3"), "--max-steps", "3", "--resume", checkpoint.toString(), "--batch-size", "2")),
                2, "--batch-size × ranks 2 (checkpoint: 4)");
        assertOneLineError(run(train(dir.resolve("o4"), "--max-steps", "3", "--resume", checkpoint.toString(), "--r", "4")),
                2, "--r 4 (checkpoint: 8)");
        Run same = run(train(out, "--max-steps", "3", "--resume", checkpoint.toString()));
        assertEquals(0, same.code(), same.err());
    }

    @Test
    void cheapChecksComeBeforeTheModelIsRead(@TempDir Path dir) throws Exception {
        Path broken = modelWithBrokenWeights(dir);
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        String[] base = {"train", "--model", broken.toString(), "--data", ALPACA, "--max-steps", "2"};
        assertOneLineError(run(concat(base, "--output", file.toString())), 1, "--output", "is a file");
        assertOneLineError(run(concat(base, "--output", dir.resolve("o").toString(), "--resume", dir.resolve("nope").toString())),
                1, "--resume", "no such folder");
        assertOneLineError(run(concat(base, "--output", dir.resolve("o").toString(), "--method", "qlora", "--r", "0")), 2, "--r must be >= 1");
        assertOneLineError(run(concat(base, "--output", dir.resolve("o").toString(), "--batch-size", "0")), 2, "--batch-size must be >= 1");
        assertOneLineError(run(concat(base, "--output", dir.resolve("o").toString(), "--data", dir.resolve("missing.jsonl").toString())),
                1, "--data", "no such file");
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    static String[] concat(String[] a, String... b) {
        List<String> l = new ArrayList<>(Arrays.asList(a));
        l.addAll(Arrays.asList(b));
        return l.toArray(String[]::new);
    }

    @Test
    void errorsUseTheUsersWords(@TempDir Path dir) throws Exception {
        assertOneLineError(run("train", "--batchsize", "4"), 2, "unknown option '--batchsize'", "did you mean --batch-size?");
        assertOneLineError(run("trian"), 2, "unknown command 'trian'", "did you mean train");
        Path cfg = dir.resolve("run.yaml");
        Files.writeString(cfg, "lerning_rate: 0.1\n");
        assertOneLineError(run("train", "--config", cfg.toString(), "--model", BPE_MODEL.toString(), "--data", ALPACA, "--output", dir.toString()),
                1, "run.yaml", "unknown key 'lerning_rate'");
        Files.writeString(cfg, "batch_size: many\n");
        assertOneLineError(run("train", "--config", cfg.toString(), "--model", BPE_MODEL.toString(), "--data", ALPACA, "--output", dir.toString()),
                2, "--batch-size", "'batch_size' in " + cfg);
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"instruction\": 5, \"output\": \"x\"}\n");
        assertOneLineError(run("train", "--model", BPE_MODEL.toString(), "--data", bad.toString(), "--output", dir.resolve("o").toString()),
                1, "bad.jsonl:1");
        assertOneLineError(run("inspect", dir.resolve("none.safetensors").toString()), 1, "no such file");
    }

    @Test
    void aFullFineTuneFolderIsACompleteModelFolderThatAnswersPrompts(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("full");
        Run r = run("train", "--model", BPE_MODEL.toString(), "--data", ALPACA, "--output", out.toString(), "--method", "full",
                "--max-steps", "40", "--batch-size", "8", "--lr", "3e-3", "--logging-steps", "5");
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt", "generation_config.json")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        Run g = run("generate", "--model", out.toString(), "--prompt", "What color is the car?", "--template", "alpaca", "--max-new-tokens", "20");
        assertEquals(0, g.code(), g.err());
        assertFalse(g.out().isBlank());
        // it learned to end its answers: generation stops at EOS, which the text leaves out unless asked
        Run ids = run("generate", "--model", out.toString(), "--prompt", "What color is the car?", "--template", "alpaca",
                "--max-new-tokens", "20", "--print-ids");
        JsonNode arr = JSON.readTree(ids.out().strip());
        int eos = JSON.readTree(out.resolve("config.json").toFile()).get("eos_token_id").asInt();
        assertEquals(eos, arr.get(arr.size() - 1).asInt(), "stopped at EOS: " + arr);
        assertTrue(arr.size() < 20, "stopped early: " + arr);
        String eosText = JSON.readTree(out.resolve("tokenizer_config.json").toFile()).get("eos_token").asText();
        assertFalse(g.out().contains(eosText), g.out());
        Run kept = run("generate", "--model", out.toString(), "--prompt", "What color is the car?", "--template", "alpaca",
                "--max-new-tokens", "20", "--keep-special-tokens");
        assertTrue(kept.out().strip().endsWith(eosText), kept.out());
        assertOneLineError(run("generate", "--model", out.toString(), "--prompt", "x", "--template", "jinja", "--max-new-tokens", "2"), 2, "--template");
    }

    @Test
    void theSummaryGivesTheMeanTrainLossAndTheLastLoss(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("o");
        Run r = run(train(out, "--max-steps", "4", "--lr", "1e-3"));
        assertEquals(0, r.code(), r.err());
        JsonNode summary = JSON.readTree(r.out().strip());
        List<Double> losses = Files.readAllLines(out.resolve("metrics.jsonl")).stream()
                .map(l -> { try { return JSON.readTree(l).get("loss").asDouble(); } catch (IOException e) { throw new RuntimeException(e); } })
                .toList();
        assertEquals(losses.stream().mapToDouble(Double::doubleValue).average().orElseThrow(), summary.get("train_loss").asDouble(), 1e-9);
        assertEquals(losses.get(3), summary.get("last_loss").asDouble(), 1e-9);
        // before the bar: what is being prepared and loaded
        List<String> err = r.err().lines().toList();
        int reading = indexOf(err, "tessera train: reading"), loading = indexOf(err, "tessera train: loading"), bar = indexOf(err, "step 1/4");
        assertTrue(reading >= 0 && reading < loading && loading < bar, r.err());
    }

    static int indexOf(List<String> lines, String part) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(part)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void quantizeSaysWhichLayersItQuantizedAndWhichItKept(@TempDir Path dir) throws Exception {
        Run r = run("quantize", "--model", BPE_MODEL.toString(), "--output", dir.resolve("q").toString(), "--quant", "nf4");
        assertEquals(0, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out().strip());
        int quantized = j.get("layers_quantized").asInt();
        assertTrue(quantized > 0);
        assertEquals(1, j.get("layers_kept").size(), "the output head: " + j);
        assertTrue(r.err().contains("quantize: " + quantized + " of " + (quantized + 1) + " linear layers to nf4; kept in full precision: "), r.err());
    }

    @Test
    void helpIsHonestAndComplete() {
        Run top = run("--help");
        assertTrue(top.out().contains("CPU") && top.out().contains("CUDA") && top.out().contains("emulated") && top.out().contains("real GPU"), top.out());
        Run bench = run("bench", "--help");
        assertEquals(0, bench.code(), bench.err());
        assertTrue(bench.out().contains("gemm") && bench.out().contains("train"), bench.out());
        Run help = run("train", "--help");
        assertEquals(0, help.code());
        var spec = new picocli.CommandLine(new dev.tessera.examples.cli.TrainCommand()).getCommandSpec();
        for (var o : spec.options()) {
            String name = o.longestName();
            assertTrue(o.description().length > 0 && !o.description()[0].isBlank(), name + " has a description");
            boolean hasDefault = o.defaultValue() != null || String.join(" ", o.description()).toLowerCase(java.util.Locale.ROOT).contains("default")
                    || o.required() || o.usageHelp() || o.versionHelp() || o.arity().max() == 0;
            assertTrue(hasDefault, name + " states its default");
            assertTrue(help.out().contains(name), name + " in --help");
        }
        assertTrue(help.out().contains("Default: 5e-5") || help.out().contains("Default: 5.0E-5"), help.out());
    }

    @Test
    void theCliContractIsInTheRepositoryAndNamesEveryFlag() throws Exception {
        Path docs = Path.of("../docs/CLI.md");
        String contract = Files.readString(docs);
        assertTrue(Files.readString(Path.of("../README.md")).contains("(docs/CLI.md)"), "the README links it");
        for (Object command : List.of(new dev.tessera.examples.cli.TrainCommand(), new dev.tessera.examples.cli.GenerateCommand())) {
            for (var o : new picocli.CommandLine(command).getCommandSpec().options()) {
                assertTrue(contract.contains(o.longestName()), o.longestName() + " in docs/CLI.md");
            }
        }
    }
}
