package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.WeightFolderReader;
import dev.tessera.nn.io.WeightFolders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SaveLoadTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "qwen2-tiny"})
    void savedFoldersReloadToTheSameParametersAndLogits(String fixture) throws Exception {
        CausalLM model = CausalLM.load(Fixtures.dir(fixture));
        Path out = tmp.resolve(fixture);
        model.save(out);
        CausalLM back = CausalLM.load(out);
        try (var scope = Scope.open()) {
            Map<String, Tensor> a = model.stateDict(), b = back.stateDict();
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) {
                assertArrayEquals(a.get(k).toFloatArray(), b.get(k).toFloatArray(), k);
            }
            Tensor ids = Tensor.ofInts(new int[] {1, 2, 3, 4}, 1, 4);
            assertArrayEquals(model.logits(ids).toFloatArray(), back.logits(ids).toFloatArray());
        } finally {
            model.release();
            back.release();
        }
        assertTrue(Files.exists(out.resolve("config.json")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "qwen2-tiny"})
    void tiedHeadsAreNotSavedAndTheFileHasTransformersNames(String fixture) {
        CausalLM model = CausalLM.load(Fixtures.dir(fixture));
        Path out = tmp.resolve(fixture);
        model.save(out);
        model.release();
        try (WeightFolderReader saved = WeightFolders.open(out); WeightFolderReader original = WeightFolders.open(Fixtures.dir(fixture))) {
            assertFalse(saved.contains("lm_head.weight"));
            assertEquals(original.names(), saved.names());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void savedConfigKeepsTheOriginalKeys(String fixture) throws Exception {
        CausalLM model = CausalLM.load(Fixtures.dir(fixture));
        Path out = tmp.resolve(fixture);
        model.save(out);
        model.release();
        ModelConfig original = ModelConfig.read(Fixtures.dir(fixture)), saved = ModelConfig.read(out);
        assertEquals(original.toJson(), saved.toJson());
        assertTrue(Files.readString(out.resolve("config.json")).contains("transformers_version"));
    }
}
