package dev.tessera.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI contract (shared/design/CLI.md): outputs, exit codes, one-line errors. */
class CliTest {
    static final Path FIXTURES = Path.of("../nn/src/test/resources/fixtures");
    static final Path GPT2_TOKENIZER = Path.of("../../shared/data/gpt2");

    record Run(int code, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Tessera.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void helpListsEveryCommandOfTheContract() {
        Run r = run("--help");
        assertEquals(0, r.code);
        for (String c : List.of("demo", "inspect", "tokenize", "detokenize", "score", "generate", "train", "merge", "quantize", "memory", "bench")) {
            assertTrue(r.out.contains("  " + c + " "), "missing " + c + " in\n" + r.out);
        }
    }

    @Test
    void inspectPrintsNameDtypeShapeSortedByName() {
        Run r = run("inspect", FIXTURES.resolve("gpt2-tiny/model.safetensors").toString());
        assertEquals(0, r.code, r.err);
        List<String> lines = r.out.lines().toList();
        assertEquals("transformer.h.0.attn.c_attn.bias\tF32\t[96]", lines.get(0));
        assertEquals("transformer.h.0.attn.c_attn.weight\tF32\t[32, 96]", lines.get(1));
        assertEquals(lines.stream().sorted().toList(), lines);
    }

    @Test
    void badInputIsOneLineAndExitOneWithoutAStackTrace(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        Run r = run("inspect", bad.toString());
        assertEquals(1, r.code);
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertTrue(r.err.startsWith("tessera: ") && r.err.contains("bad.safetensors"), r.err);
        Run debug = run("inspect", bad.toString(), "--debug");
        assertTrue(debug.err.contains("\tat "), "stack trace with --debug");
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(2, run("inspect").code);
        assertEquals(2, run("bench", "gemm", "--m", "x", "--n", "1", "--k", "1").code);
        assertEquals(2, run("no-such-command").code);
    }

    @Test
    void scoreMatchesTransformersAndPeftPerRow() throws Exception {
        JsonNode ref = new ObjectMapper().readTree(Path.of("src/test/resources/score-reference.json").toFile());
        String data = Path.of("src/test/resources/score-rows.jsonl").toString();
        for (String which : List.of("base", "lora")) {
            Run r = which.equals("base")
                    ? run("score", "--model", FIXTURES.resolve("gpt2-tiny").toString(), "--data", data, "--format", "tokens")
                    : run("score", "--model", FIXTURES.resolve("gpt2-tiny").toString(), "--adapter", FIXTURES.resolve("gpt2-tiny-lora").toString(),
                            "--data", data, "--format", "tokens");
            assertEquals(0, r.code, r.err);
            List<String> lines = r.out.lines().toList();
            assertEquals(4, lines.size());
            for (int i = 0; i < 4; i++) {
                JsonNode row = new ObjectMapper().readTree(lines.get(i));
                JsonNode expected = ref.get(which).get(i);
                if (expected.isNull()) {
                    assertTrue(row.get("loss").isNull());
                    assertEquals(0, row.get("tokens").asInt());
                } else {
                    assertEquals(expected.asDouble(), row.get("loss").asDouble(), 1e-4, which + " row " + i);
                }
            }
        }
    }

    @Test
    void greedyGenerationGivesPyTorchsIds() {
        // greedy_prompt / greedy_ids of the gpt2-tiny fixture (transformers' generate, EOS disabled)
        Run r = run("generate", "--model", FIXTURES.resolve("gpt2-tiny").toString(), "--prompt-ids", "[11, 22, 33, 44, 55]",
                "--max-new-tokens", "8", "--print-ids");
        assertEquals(0, r.code, r.err);
        assertEquals("[68, 68, 68, 47, 47, 47, 47, 47]", r.out.strip());
    }

    @Test
    void tokenizeAndDetokenizeRoundTripWithGpt2() {
        assumeTrue(Files.isDirectory(GPT2_TOKENIZER), "shared/data/gpt2 is absent");
        Run t = run("tokenize", "--tokenizer", GPT2_TOKENIZER.toString(), "--text", "Hello world");
        assertEquals("[15496, 995]", t.out.strip());
        Run d = run("detokenize", "--tokenizer", GPT2_TOKENIZER.toString(), "--ids", "[15496, 995]");
        assertEquals("Hello world", d.out.strip());
        assertEquals(2, run("detokenize", "--tokenizer", GPT2_TOKENIZER.toString(), "--ids", "[1, \"x\"]").code);
    }

    @Test
    void benchGemmPrintsOneJsonLine() throws Exception {
        Run r = run("bench", "gemm", "--m", "64", "--n", "64", "--k", "64", "--repeat", "2");
        assertEquals(0, r.code, r.err);
        JsonNode j = new ObjectMapper().readTree(r.out.strip());
        assertEquals(64, j.get("m").asInt());
        assertTrue(j.get("gflops").asDouble() > 0);
    }

    static final Path BPE_MODEL = FIXTURES.resolve("gpt2-tiny-bpe");
    static final String ALPACA = "src/test/resources/alpaca-tiny.jsonl";

    @Test
    void trainRunsEndToEndForEveryMethodAndWritesItsOutputs(@TempDir Path dir) throws Exception {
        for (String method : List.of("lora", "full", "qlora", "ia3", "prefix", "prompt", "adapter")) {
            Path out = dir.resolve(method);
            Run r = run("train", "--model", BPE_MODEL.toString(), "--data", ALPACA, "--method", method, "--output", out.toString(),
                    "--max-steps", "3", "--batch-size", "4", "--logging-steps", "1", "--lr", "1e-3");
            assertEquals(0, r.code, method + ": " + r.err);
            JsonNode summary = new ObjectMapper().readTree(r.out.strip().lines().reduce((a, b) -> b).orElseThrow());
            assertEquals(3, summary.get("steps").asInt());
            assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).size());
            assertTrue(Files.size(out.resolve("loss.png")) > 1000);
            if (method.equals("full")) {
                assertTrue(Files.exists(out.resolve("model.safetensors")) && Files.exists(out.resolve("config.json")));
            } else {
                assertTrue(Files.exists(out.resolve("adapter_model.safetensors")) && Files.exists(out.resolve("adapter_config.json")), method);
            }
        }
        // the LoRA adapter scores and generates; merging it gives a model folder with the same scores
        Path lora = dir.resolve("lora"), merged = dir.resolve("merged");
        Run withAdapter = run("score", "--model", BPE_MODEL.toString(), "--adapter", lora.toString(), "--data", ALPACA);
        assertEquals(0, run("merge", "--model", BPE_MODEL.toString(), "--adapter", lora.toString(), "--output", merged.toString()).code);
        Run mergedScore = run("score", "--model", merged.toString(), "--data", ALPACA);
        List<String> a = withAdapter.out.lines().toList(), b = mergedScore.out.lines().toList();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            double x = new ObjectMapper().readTree(a.get(i)).get("loss").asDouble(), y = new ObjectMapper().readTree(b.get(i)).get("loss").asDouble();
            assertEquals(x, y, 1e-4, "row " + i);
        }
        for (String m : List.of("prefix", "prompt", "lora")) {
            Run g = run("generate", "--model", BPE_MODEL.toString(), "--adapter", dir.resolve(m).toString(), "--prompt", "What color",
                    "--max-new-tokens", "4", "--print-ids");
            assertEquals(0, g.code, g.err);
        }
    }

    @Test
    void trainReadsAConfigFileThatFlagsOverride(@TempDir Path dir) throws Exception {
        Path cfg = dir.resolve("run.yaml");
        Files.writeString(cfg, "method: lora\nmax_steps: 5\nbatch-size: 4\nr: 4\noptimizer: adamw8bit\n");
        Path out = dir.resolve("out");
        Run r = run("train", "--config", cfg.toString(), "--model", BPE_MODEL.toString(), "--data", ALPACA, "--output", out.toString(),
                "--max-steps", "2");
        assertEquals(0, r.code, r.err);
        assertEquals(2, new ObjectMapper().readTree(r.out.strip()).get("steps").asInt(), "the command line wins");
        assertEquals(4, new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile()).get("r").asInt(), "the file applies");
        assertEquals(2, run("train", "--model", BPE_MODEL.toString(), "--data", ALPACA, "--output", out.toString(), "--method", "nope").code);
    }

    @Test
    void quantizeWritesABitsandbytesFolderThatScores(@TempDir Path dir) throws Exception {
        Path q = dir.resolve("q");
        Run r = run("quantize", "--model", BPE_MODEL.toString(), "--output", q.toString(), "--quant", "nf4", "--double-quant");
        assertEquals(0, r.code, r.err);
        JsonNode config = new ObjectMapper().readTree(q.resolve("config.json").toFile());
        assertEquals("bitsandbytes", config.get("quantization_config").get("quant_method").asText());
        Run inspect = run("inspect", q.toString());
        assertTrue(inspect.out.contains(".weight.quant_state.bitsandbytes__nf4\tU8"), inspect.out);
        Run score = run("score", "--model", q.toString(), "--data", ALPACA);
        assertEquals(0, score.code, score.err);
        assertEquals(2, run("quantize", "--model", BPE_MODEL.toString(), "--output", q.toString(), "--quant", "int3").code);
    }

    @Test
    void memoryPrintsTheTableAndDrawsIt(@TempDir Path dir) throws Exception {
        Run r = run("memory", "--params", "7B", "--output", dir.toString());
        assertEquals(0, r.code, r.err);
        String loraRow = r.out.lines().filter(l -> l.startsWith("7B") && l.contains("lora") && !l.contains("qlora")).findFirst().orElseThrow();
        assertTrue(loraRow.contains("4,194,304"), "LoRA r=8 on q_proj,v_proj of Llama-2-7B: " + loraRow);
        assertTrue(Files.size(dir.resolve("memory.png")) > 1000);
    }

    @Test
    void benchTrainPrintsOneJsonLine() throws Exception {
        Run r = run("bench", "train", "--model", BPE_MODEL.toString(), "--method", "lora", "--batch-size", "2", "--seq-len", "16", "--steps", "2");
        assertEquals(0, r.code, r.err);
        JsonNode j = new ObjectMapper().readTree(r.out.strip());
        assertEquals("lora", j.get("method").asText());
        assertTrue(j.get("tokens_per_s").asDouble() > 0 && j.get("steps").asInt() == 2);
    }
}
