package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.WeightFolders;
import dev.tessera.nn.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightFolderLoadingTest {
    @TempDir
    Path tmp;

    /** A copy of a fixture folder whose weights went through {@code edit}. */
    private Path edited(String fixture, UnaryOperator<Map<String, Tensor>> edit) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(fixture + "-edited"));
        Files.copy(Fixtures.dir(fixture).resolve("config.json"), dir.resolve("config.json"));
        try (var scope = Scope.open()) {
            Map<String, Tensor> state = new LinkedHashMap<>(WeightFolders.loadStateDict(Fixtures.dir(fixture)));
            SafeTensors.write(dir.resolve("model.safetensors"), edit.apply(state));
        }
        return dir;
    }

    private static float[] logits(CausalLM model) {
        try (var scope = Scope.open()) {
            return model.logits(Tensor.ofInts(new int[] {5, 17, 42, 8, 63}, 1, 5)).toFloatArray();
        } finally {
            model.release();
        }
    }

    @Test
    void missingUnexpectedAndMisShapedTensorsAreReportedTogether() throws IOException {
        Path dir = edited("gpt2-tiny", s -> {
            s.remove("transformer.h.1.ln_2.bias");
            s.put("transformer.h.0.attn.extra", Tensor.zeros(3));
            s.put("transformer.wpe.weight", Tensor.zeros(16, 32));
            return s;
        });
        TesseraException e = assertThrows(TesseraException.class, () -> CausalLM.load(dir));
        String msg = e.getMessage();
        assertTrue(msg.startsWith(dir.toString()), msg);
        assertTrue(msg.contains("transformer.h.1.ln_2.bias"), msg);
        assertTrue(msg.contains("transformer.h.0.attn.extra"), msg);
        assertTrue(msg.contains("transformer.wpe.weight has shape [16, 32], expected [32, 32]"), msg);
        assertFalse(msg.contains("\n"), msg);
    }

    @Test
    void anUntiedHeadMustBeInTheCheckpoint() throws IOException {
        Path dir = edited("llama-tiny", s -> {
            s.remove("lm_head.weight");
            return s;
        });
        assertLoadingFailsWith(dir, "missing [lm_head.weight]");
    }

    @Test
    void integerWeightsAreRejectedByName() throws IOException {
        Path dir = edited("gpt2-tiny", s -> {
            s.put("transformer.ln_f.bias", Tensor.ofLongs(new long[32], 32));
            return s;
        });
        assertLoadingFailsWith(dir, "transformer.ln_f.bias has dtype I64");
    }

    private static void assertLoadingFailsWith(Path dir, String messagePart) {
        TesseraException e = assertThrows(TesseraException.class, () -> CausalLM.load(dir));
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    }

    @Test
    void baseModelCheckpointsWithoutThePrefixAndWithMaskBuffersLoad() throws IOException {
        Path dir = edited("gpt2-tiny", s -> {
            Map<String, Tensor> bare = new LinkedHashMap<>();
            s.forEach((k, v) -> bare.put(k.substring("transformer.".length()), v));
            bare.put("h.0.attn.bias", Tensor.ones(1, 1, 32, 32)); // old GPT-2 files carry the causal mask
            return bare;
        });
        assertEquals(0, Fixtures.maxAbs(logits(CausalLM.load(Fixtures.dir("gpt2-tiny"))), logits(CausalLM.load(dir))));
    }

    @Test
    void bf16CheckpointsAreComputedInF32() throws IOException {
        Path dir = edited("llama-tiny", s -> {
            s.replaceAll((k, v) -> v.cast(DType.BF16));
            return s;
        });
        CausalLM model = CausalLM.load(dir);
        model.namedParameters().values().forEach(t -> assertEquals(DType.F32, t.dtype()));
        float[] ref = logits(CausalLM.load(Fixtures.dir("llama-tiny")));
        assertTrue(Fixtures.maxRelativeToScale(ref, logits(model)) < 0.05);
    }

    @Test
    void shardedCheckpointsLoad() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        Files.copy(Fixtures.dir("qwen2-tiny").resolve("config.json"), dir.resolve("config.json"));
        try (var scope = Scope.open()) {
            WeightFolders.saveStateDict(dir, WeightFolders.loadStateDict(Fixtures.dir("qwen2-tiny")), 20_000);
        }
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
        assertEquals(0, Fixtures.maxAbs(logits(CausalLM.load(Fixtures.dir("qwen2-tiny"))), logits(CausalLM.load(dir))));
    }

    @Test
    void inPlaceLoadingGivesAFrozenModelWithTheSameLogits() {
        CausalLM mapped = CausalLM.load(Fixtures.dir("llama-tiny"), true);
        assertEquals(0, mapped.parameterCount(true));
        assertEquals(0, Fixtures.maxAbs(logits(CausalLM.load(Fixtures.dir("llama-tiny"))), logits(mapped)));
    }

    @Test
    void parametersMappedInPlaceRefuseToBeOverwritten() {
        CausalLM mapped = CausalLM.load(Fixtures.dir("gpt2-tiny"), true);
        try (var scope = Scope.open()) {
            Map<String, Tensor> state = Map.of("transformer.ln_f.bias", Tensor.zeros(32));
            TesseraException e = assertThrows(TesseraException.class, () -> mapped.loadStateDict(state, false));
            assertTrue(e.getMessage().contains("transformer.ln_f.bias is read-only"), e.getMessage());
        } finally {
            mapped.release();
        }
    }

    @Test
    void aMissingConfigIsNamed() {
        TesseraException e = assertThrows(TesseraException.class, () -> CausalLM.load(tmp));
        assertTrue(e.getMessage().contains("config.json: no such file"), e.getMessage());
    }
}
