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
}
