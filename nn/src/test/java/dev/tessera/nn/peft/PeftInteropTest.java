package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tessera-written adapters in Python PEFT. The folders {@code fixtures/peft-tessera-*} were
 * written by {@link #writeFixtures} and then loaded by real PEFT with
 * {@code tools/fixtures/peft_check_tessera.py}, which recorded PEFT's loss on the fixed batch in
 * each folder's {@code peft-check.json}. Here: Tessera still writes those folders, and its loss
 * on them is PEFT's.
 */
class PeftInteropTest {
    /** Adapter folders Tessera writes for the check, each after a few training steps so nothing is at its init. */
    static final Map<String, Supplier<PeftModel>> WRITERS = Map.of(
            "peft-tessera-gpt2-lora", () -> trained("gpt2-tiny", LoraConfig.defaults().withR(4).withLoraAlpha(16)
                    .withTargetModules(TargetModules.allLinear()).withUseRslora(true).withRankPattern(Map.of("c_fc", 2))
                    .withAlphaPattern(Map.of("attn\\.c_proj", 4.0)).withBaseModelNameOrPath("gpt2-tiny")),
            "peft-tessera-llama-lora", () -> trained("llama-tiny", LoraConfig.defaults().withR(8).withLoraAlpha(16).withLoraDropout(0.05)
                    .withTargetModules("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
                    .withBaseModelNameOrPath("llama-tiny")),
            "peft-tessera-gpt2-lora-head", () -> trained("gpt2-tiny", LoraConfig.defaults().withR(2).withLoraAlpha(4)
                    .withTargetModules("c_attn", "lm_head").withModulesToSave("ln_f").withBias(LoraConfig.Bias.ALL)
                    .withBaseModelNameOrPath("gpt2-tiny")),
            "peft-tessera-llama-ia3", () -> trained("llama-tiny", Ia3Config.defaults().withBaseModelNameOrPath("llama-tiny")),
            "peft-tessera-llama-prefix", () -> trained("llama-tiny", PrefixTuningConfig.of(3).withPrefixProjection(true, 8)
                    .withBaseModelNameOrPath("llama-tiny")),
            "peft-tessera-gpt2-prompt", () -> trained("gpt2-tiny", PromptTuningConfig.of(4).withTextInit("tessera", new int[] {11, 12, 13})
                    .withBaseModelNameOrPath("gpt2-tiny")));

    private static PeftModel trained(String base, PeftConfig config) {
        PeftModel peft = PeftModel.of(PeftFixtures.base(base), config);
        for (int i = 0; i < 3; i++) {
            LoraTest.sgdStep(peft, peft.trainableParameters(), 0.2f);
        }
        return peft;
    }

    private static String base(String fixture) {
        return fixture.contains("gpt2") ? "gpt2-tiny" : "llama-tiny";
    }

    @ParameterizedTest
    @ValueSource(strings = {"peft-tessera-gpt2-lora", "peft-tessera-llama-lora", "peft-tessera-gpt2-lora-head", "peft-tessera-llama-ia3",
        "peft-tessera-llama-prefix", "peft-tessera-gpt2-prompt"})
    void pythonPeftLoadsTheFolderAndComputesTesserasLoss(String fixture) throws IOException {
        Path dir = PeftFixtures.dir(fixture);
        JsonNode check = new JsonMapper().readTree(dir.resolve("peft-check.json").toFile());
        assertTrue(check.get("ok").asBoolean(), "PEFT loaded every tensor: " + check.get("problems"));
        PeftModel peft = PeftModel.load(PeftFixtures.base(base(fixture)), dir);
        try (var scope = Scope.open()) {
            Tensor[] batch = PeftFixtures.batch();
            double ours = peft.loss(batch[0], batch[1]).item();
            double theirs = check.get("loss").asDouble();
            System.out.printf("%s: Tessera loss %.7f, PEFT %.7f, |diff| %.3g (peft %s)%n", fixture, ours, theirs, Math.abs(ours - theirs),
                    check.get("versions").get("peft").asText());
            assertEquals(theirs, ours, 1e-4);
            assertEquals(check.get("adapter_tensors").asInt(), peft.adapterStateDict("default").size());
            double baseLoss;
            try (var off = peft.disableAdapter()) {
                baseLoss = peft.loss(batch[0], batch[1]).item();
            }
            assertEquals(check.get("loss_without_adapter").asDouble(), baseLoss, 1e-4);
        } finally {
            peft.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"peft-tessera-gpt2-lora", "peft-tessera-llama-lora", "peft-tessera-gpt2-lora-head", "peft-tessera-llama-ia3",
        "peft-tessera-llama-prefix", "peft-tessera-gpt2-prompt"})
    void tesseraStillWritesTheCheckedFolder(String fixture, @TempDir Path out) throws IOException {
        PeftModel peft = WRITERS.get(fixture).get();
        peft.save(out);
        Path committed = PeftFixtures.dir(fixture);
        assertEquals(Files.readString(committed.resolve("adapter_config.json")), Files.readString(out.resolve("adapter_config.json")));
        Map<String, Tensor> expected = PeftFixtures.tensors(committed.resolve("adapter_model.safetensors"));
        Map<String, Tensor> written = PeftFixtures.tensors(out.resolve("adapter_model.safetensors"));
        assertEquals(expected.keySet(), written.keySet());
        expected.forEach((k, v) -> {
            assertArrayEquals(v.shape(), written.get(k).shape(), k);
            assertTrue(PeftFixtures.maxAbs(v.toFloatArray(), written.get(k).toFloatArray()) <= 1e-6, k);
        });
        peft.release();
    }

    /** Rewrites the folders (then run tools/fixtures/peft_check_tessera.py): {@code -Dtessera.peft.writeFixtures=true}. */
    @Test
    @EnabledIfSystemProperty(named = "tessera.peft.writeFixtures", matches = "true")
    void writeFixtures() {
        Path root = Path.of("src/test/resources/fixtures");
        for (String name : List.copyOf(new java.util.TreeSet<>(WRITERS.keySet()))) {
            PeftModel peft = WRITERS.get(name).get();
            peft.save(root.resolve(name));
            peft.release();
        }
    }
}
