package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEFT adapter folders: what Tessera writes, what it reads back, what it refuses. */
class AdapterFolderTest {
    private static final Tensor IDS = PeftFixtures.batch()[0];

    private static PeftModel trainedLora(String base) {
        return PeftModel.of(PeftFixtures.base(base), LoraConfig.defaults().withR(4).withLoraAlpha(16)
                .withTargetModules(TargetModules.allLinear()).withInitLoraWeights(LoraConfig.LoraInit.RANDOM));
    }

    @Test
    void saveThenLoadIsBitExact(@TempDir Path dir) {
        PeftModel saved = trainedLora("llama-tiny");
        saved.save(dir);
        PeftModel loaded = PeftModel.load(PeftFixtures.base("llama-tiny"), dir);
        try (var scope = Scope.open()) {
            Map<String, Tensor> a = saved.adapterStateDict("default"), b = loaded.adapterStateDict("default");
            assertEquals(a.keySet(), b.keySet());
            a.forEach((k, v) -> assertArrayEquals(v.toFloatArray(), b.get(k).toFloatArray(), k));
            assertArrayEquals(saved.logits(IDS).toFloatArray(), loaded.logits(IDS).toFloatArray());
            assertEquals(0, loaded.trainableParameterCounts()[0], "loaded for inference: frozen");
        } finally {
            saved.release();
            loaded.release();
        }
    }

    @Test
    void configHasPeftsKeysSortedAndIndented(@TempDir Path dir) throws IOException {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withR(4).withLoraAlpha(8)
                .withTargetModules("c_attn", "c_proj", "c_fc"));
        peft.save(dir);
        String text = Files.readString(dir.resolve("adapter_config.json"));
        JsonNode ours = new JsonMapper().readTree(text);
        JsonNode peftsFile = new JsonMapper().readTree(PeftFixtures.dir("gpt2-tiny-lora").resolve("adapter_config.json").toFile());
        TreeSet<String> expectedKeys = new TreeSet<>();
        peftsFile.fieldNames().forEachRemaining(expectedKeys::add);
        expectedKeys.remove("peft_version"); // PEFT records its own version; Tessera is not PEFT
        TreeSet<String> keys = new TreeSet<>();
        ours.fieldNames().forEachRemaining(keys::add);
        assertEquals(expectedKeys, keys);
        List<String> order = new ArrayList<>();
        ours.fieldNames().forEachRemaining(order::add);
        assertEquals(new ArrayList<>(keys), order, "sorted keys");
        assertTrue(text.startsWith("{\n  \"alora_invocation_tokens\": null,\n  \"alpha_pattern\": {},\n"), text);
        assertTrue(text.contains("\"target_modules\": [\n    \"c_attn\",\n    \"c_proj\",\n    \"c_fc\"\n  ],"), text);
        for (String k : List.of("r", "lora_alpha", "lora_dropout", "bias", "fan_in_fan_out", "use_rslora", "init_lora_weights", "inference_mode",
                "modules_to_save", "layers_to_transform", "rank_pattern", "alpha_pattern", "use_dora", "peft_type", "task_type")) {
            assertEquals(peftsFile.get(k), ours.get(k), k + " as PEFT writes it for the same config");
        }
        assertEquals("gpt2-tiny", Path.of(ours.get("base_model_name_or_path").asText()).getFileName().toString());
        peft.release();
    }

    @Test
    void weightsFileHasPytorchMetadataAndAModelCardComesAlong(@TempDir Path dir) throws IOException {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults());
        peft.save(dir);
        try (SafeTensorsFile f = SafeTensors.open(dir.resolve("adapter_model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(List.of("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight",
                    "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", "base_model.model.transformer.h.1.attn.c_attn.lora_A.weight",
                    "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight"), new ArrayList<>(new TreeSet<>(f.names())));
        }
        String card = Files.readString(dir.resolve("README.md"));
        assertTrue(card.startsWith("---\nbase_model: ") && card.contains("library_name: peft\n") && card.contains("- lora\n"), card);
        peft.release();
    }

    @Test
    void otherAdaptersGoToSubfoldersAsInPeft(@TempDir Path dir) {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), LoraConfig.defaults());
        peft.addAdapter("extra", Ia3Config.defaults().withTargetModules(List.of("o_proj"), List.of()));
        peft.save(dir);
        assertTrue(Files.isRegularFile(dir.resolve("adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(dir.resolve("extra/adapter_config.json")));
        PeftModel back = PeftModel.load(PeftFixtures.base("llama-tiny"), dir);
        back.loadAdapter(dir.resolve("extra"), "extra", false);
        assertEquals(List.of("default", "extra"), back.adapterNames());
        peft.release();
        back.release();
    }

    @Test
    void bf16WeightsAreConvertedOnLoad(@TempDir Path dir) throws IOException {
        PeftModel saved = trainedLora("gpt2-tiny");
        saved.save(dir);
        Map<String, Tensor> state = PeftFixtures.tensors(dir.resolve("adapter_model.safetensors"));
        try (var scope = Scope.open()) {
            Map<String, Tensor> bf16 = new java.util.LinkedHashMap<>();
            state.forEach((k, v) -> bf16.put(k, v.cast(dev.tessera.core.DType.BF16)));
            SafeTensors.write(dir.resolve("adapter_model.safetensors"), bf16);
        }
        PeftModel loaded = PeftModel.load(PeftFixtures.base("gpt2-tiny"), dir);
        loaded.adapterStateDict("default").forEach((k, v) -> {
            float[] expected = state.get(k).toFloatArray(), got = v.toFloatArray();
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], got[i], Math.abs(expected[i]) / 128 + 1e-30, k);
            }
        });
        saved.release();
        loaded.release();
    }

    // ---------------------------------------------------------------- refusals

    @Test
    void aMissingTensorIsNamed(@TempDir Path dir) throws IOException {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults());
        peft.save(dir);
        Map<String, Tensor> state = PeftFixtures.tensors(dir.resolve("adapter_model.safetensors"));
        state.remove("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight");
        state.put("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", Tensor.zeros(3, 32));
        state.put("base_model.model.transformer.h.0.attn.c_attn.lora_C.weight", Tensor.zeros(3, 32));
        SafeTensors.write(dir.resolve("adapter_model.safetensors"), state);
        TesseraException e = assertThrows(TesseraException.class, () -> PeftModel.load(PeftFixtures.base("gpt2-tiny"), dir));
        String m = e.getMessage();
        assertTrue(m.contains("missing base_model.model.transformer.h.1.attn.c_attn.lora_B.weight"), m);
        assertTrue(m.contains("h.0.attn.c_attn.lora_A.weight has shape [3, 32], expected [8, 32]"), m);
        assertTrue(m.contains("unexpected [base_model.model.transformer.h.0.attn.c_attn.lora_C.weight]"), m);
        assertTrue(m.startsWith(dir.resolve("adapter_model.safetensors").toString()), m);
        peft.release();
    }

    @Test
    void unsupportedOptionsAreRefusedByKey(@TempDir Path dir) throws IOException {
        Files.copy(PeftFixtures.dir("gpt2-tiny-lora").resolve("adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
        String config = Files.readString(PeftFixtures.dir("gpt2-tiny-lora").resolve("adapter_config.json"));
        Files.writeString(dir.resolve("adapter_config.json"), config.replace("\"use_dora\": false", "\"use_dora\": true"));
        TesseraException e = assertThrows(TesseraException.class, () -> PeftModel.load(PeftFixtures.base("gpt2-tiny"), dir));
        assertTrue(e.getMessage().contains("use_dora=true is not supported"), e.getMessage());
        Files.writeString(dir.resolve("adapter_config.json"), config.replace("\"LORA\"", "\"LOHA\""));
        e = assertThrows(TesseraException.class, () -> PeftModel.load(PeftFixtures.base("gpt2-tiny"), dir));
        assertTrue(e.getMessage().contains("peft_type LOHA is not supported"), e.getMessage());
    }

    @Test
    void aFolderWithoutAnAdapterIsNamed(@TempDir Path dir) {
        TesseraException e = assertThrows(TesseraException.class, () -> PeftModel.load(PeftFixtures.base("gpt2-tiny"), dir));
        assertTrue(e.getMessage().contains("adapter_config.json: no such file"), e.getMessage());
    }

    @Test
    void anAdapterForAnotherModelIsRefusedBeforeAnythingIsInjected() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), LoraConfig.defaults());
        assertThrows(TesseraException.class, () -> peft.loadAdapter(PeftFixtures.dir("gpt2-tiny-lora"), "gpt2", false));
        assertEquals(List.of("default"), peft.adapterNames());
        assertFalse(peft.namedParameters().keySet().stream().anyMatch(k -> k.contains(".gpt2.")));
        peft.release();
    }
}
