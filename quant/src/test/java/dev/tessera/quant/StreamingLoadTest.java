package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.WeightFolders;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Loading straight into 4-bit, tensor by tensor, from sharded BF16 checkpoints. */
class StreamingLoadTest {
    private static final String LLAMA = """
            {"model_type": "llama", "vocab_size": 512, "hidden_size": 128, "intermediate_size": 344, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "tie_word_embeddings": false}""";

    @TempDir
    Path tmp;

    /** A random model saved as BF16 in shards of at most 100 kB, with its index, as transformers writes a BF16 checkpoint. */
    private Path bf16Checkpoint(String configJson, long seed) throws IOException {
        Path dir = tmp.resolve("bf16-" + seed);
        CausalLM model = CausalLM.create(ModelConfig.parse(configJson, "config.json"), seed);
        try (var scope = Scope.open()) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            model.stateDict().forEach((k, v) -> state.put(k, v.detach().cast(DType.BF16)));
            WeightFolders.saveStateDict(dir, state, 100_000);
        } finally {
            model.release();
        }
        Files.writeString(dir.resolve("config.json"), model.config().toJson());
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")), "sharded");
        return dir;
    }

    private static byte[] bytes(Tensor t) {
        return t.contiguous().dataSegment().toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void loadingIn4bitGivesTheBytesOfQuantizingTheLoadedModel() throws IOException {
        Path dir = bf16Checkpoint(LLAMA, 1);
        BitsAndBytesConfig config = QuantizedModelsTest.nf4(DType.F32);
        CausalLM loaded = CausalLM.load(dir);
        CausalLM streamed = QuantizedModels.loadIn4bit(dir, config, null, (d, n) -> { });
        try (var scope = Scope.open()) {
            QuantizedModels.quantize(loaded, config);
            Map<String, Linear4bit> a = QuantizedModels.quantizedLayers(loaded), b = QuantizedModels.quantizedLayers(streamed);
            assertEquals(a.keySet(), b.keySet());
            assertEquals(14, b.size());
            for (String name : a.keySet()) {
                assertArrayEquals(bytes(a.get(name).packedWeight()), bytes(b.get(name).packedWeight()), name);
                assertEquals(a.get(name).quantState().toTensors(name).keySet(), b.get(name).quantState().toTensors(name).keySet());
                a.get(name).quantState().toTensors(name).forEach((k, v) ->
                        assertArrayEquals(v.data(), b.get(name).quantState().toTensors(name).get(k).data(), k));
            }
            // what stays wide keeps the checkpoint's BF16 (norms F32), with the same values
            assertEquals(DType.BF16, streamed.inputEmbeddings().weight().dtype());
            assertEquals(DType.BF16, streamed.lmHead().weight().dtype());
            Map<String, Tensor> wide = loaded.stateDict();
            streamed.stateDict().forEach((k, v) -> {
                if (v.dtype() != DType.U8) {
                    assertArrayEquals(wide.get(k).toFloatArray(), v.cast(DType.F32).toFloatArray(), 0f, k);
                }
            });
            Tensor ids = Tensor.ofLongs(new long[] {5, 17, 42, 8, 63, 91, 30, 12}, 1, 8);
            assertArrayEquals(loaded.logits(ids).toFloatArray(), streamed.logits(ids).toFloatArray(), 0f, "same logits");
        } finally {
            loaded.release();
            streamed.release();
        }
    }

    /** Every file of a folder, by name. */
    private static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> out = new java.util.TreeMap<>();
        try (var list = Files.list(dir)) {
            for (Path p : list.toList()) {
                out.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-fixture", "llama-bf16-sharded"})
    void quantizingAFolderWritesTheBytesOfQuantizingTheLoadedModel(String which) throws IOException {
        Path dir = which.equals("gpt2-fixture") ? QuantizedModelsTest.GPT2 : bf16Checkpoint(LLAMA, 4);
        BitsAndBytesConfig config = QuantizedModelsTest.nf4(DType.F32);
        Path streamed = tmp.resolve("streamed"), whole = tmp.resolve("whole");
        QuantizedModels.quantize(dir, streamed, config);
        QuantizedModelsTest.quantizeInMemoryAndSave(dir, whole, config);
        Map<String, byte[]> a = files(whole), b = files(streamed);
        assertTrue(b.keySet().containsAll(a.keySet()), "streamed " + b.keySet() + " has every file of " + a.keySet());
        b.keySet().removeIf(n -> !a.containsKey(n) && !n.endsWith(".safetensors")); // tokenizer files are copied along
        assertEquals(a.keySet(), b.keySet());
        a.forEach((name, bytes) -> assertArrayEquals(bytes, b.get(name), name));
    }

    @Test
    void peakLiveBytesWhileLoadingStayWithinTheFootprintPlusTheLargestTensor() throws IOException {
        Path dir = bf16Checkpoint(LLAMA, 2);
        long largestF32 = 512L * 128 * 4; // embed_tokens / lm_head [512, 128], as the F32 a 4-bit weight is quantized from
        Backend cpu = Backends.cpu();
        long before = cpu.liveBytes();
        cpu.resetPeakLiveBytes();
        CausalLM model = QuantizedModels.loadIn4bit(dir, QuantizedModelsTest.nf4(DType.F32), null, (d, n) -> { });
        try {
            long footprint = cpu.liveBytes() - before;
            long peak = cpu.peakLiveBytes() - before;
            assertTrue(peak <= 1.1 * (footprint + largestF32),
                    "peak " + peak + " > 1.1 x (footprint " + footprint + " + largest tensor " + largestF32 + ")");
        } finally {
            model.release();
        }
    }

    @Test
    void loadingWideThenQuantizingBreaksThatBound() throws IOException {
        // the bound above is not loose: the old way (whole model F32, then quantize) exceeds it
        Path dir = bf16Checkpoint(LLAMA, 3);
        long largestF32 = 512L * 128 * 4;
        Backend cpu = Backends.cpu();
        long before = cpu.liveBytes();
        cpu.resetPeakLiveBytes();
        CausalLM model = CausalLM.load(dir);
        try {
            QuantizedModels.quantize(model, QuantizedModelsTest.nf4(DType.F32));
            long footprint = cpu.liveBytes() - before;
            long peak = cpu.peakLiveBytes() - before;
            assertTrue(peak > 1.1 * (footprint + largestF32), "peak " + peak + ", footprint " + footprint);
        } finally {
            model.release();
        }
    }
}
