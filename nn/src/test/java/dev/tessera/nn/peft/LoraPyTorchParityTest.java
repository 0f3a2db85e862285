package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Adapters written by real PEFT (gpt2-tiny-lora, llama-tiny-lora) against transformers + peft's numbers. */
class LoraPyTorchParityTest {
    @ParameterizedTest
    @CsvSource({"gpt2-tiny, gpt2-tiny-lora", "llama-tiny, llama-tiny-lora"})
    void peftWrittenAdapterGivesPeftsLogitsAndLoss(String base, String adapter) {
        Map<String, Tensor> ref = PeftFixtures.reference(adapter);
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(adapter));
        try (var scope = Scope.open()) {
            Tensor ids = ref.get("input_ids"), labels = ref.get("labels");
            double logitsErr = PeftFixtures.maxAbs(ref.get("logits").toFloatArray(), peft.logits(ids).toFloatArray());
            double lossErr = Math.abs(peft.loss(ids, labels).item() - ref.get("loss").item());
            System.out.printf("%s: logits max |diff| %.3g, loss |diff| %.3g%n", adapter, logitsErr, lossErr);
            assertTrue(logitsErr <= 1e-4, adapter + " logits off by " + logitsErr);
            assertTrue(lossErr <= 1e-4, adapter + " loss off by " + lossErr);
        } finally {
            peft.release();
        }
    }

    @ParameterizedTest
    @CsvSource({"gpt2-tiny, gpt2-tiny-lora", "llama-tiny, llama-tiny-lora"})
    void loraGradientsOfEveryTargetMatchPyTorch(String base, String adapter) {
        Map<String, Tensor> ref = PeftFixtures.reference(adapter);
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(adapter), true);
        try (var scope = Scope.open()) {
            peft.loss(ref.get("input_ids"), ref.get("labels")).backward();
            Map<String, Tensor> state = peft.adapterStateDict("default");
            TreeSet<String> expected = new TreeSet<>();
            ref.keySet().stream().filter(k -> k.startsWith("grad.")).forEach(k -> expected.add(k.substring(5)));
            assertEquals(expected, new TreeSet<>(state.keySet()), "every lora_A / lora_B has a gradient");
            double worst = 0;
            for (var e : state.entrySet()) {
                double err = PeftFixtures.maxAbs(ref.get("grad." + e.getKey()).toFloatArray(), e.getValue().grad().toFloatArray());
                worst = Math.max(worst, err);
                assertTrue(err <= 1e-4, e.getKey() + " gradient off by " + err);
            }
            System.out.printf("%s: %d LoRA gradients, worst max |diff| %.3g%n", adapter, state.size(), worst);
        } finally {
            peft.release();
        }
    }

    @ParameterizedTest
    @CsvSource({"gpt2-tiny, gpt2-tiny-lora", "llama-tiny, llama-tiny-lora"})
    void freshAdapterHasPeftsKeyNamesAndShapes(String base, String adapter) {
        // same config as the fixture script: r 4, alpha 8, the fixture's targets
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(adapter));
        LoraConfig config = ((LoraConfig) peft.config("default")).withInferenceMode(false);
        peft.release();
        PeftModel fresh = PeftModel.of(PeftFixtures.base(base), config);
        Map<String, int[]> ours = new TreeMap<>();
        fresh.adapterStateDict("default").forEach((k, v) -> ours.put(k, v.shape()));
        Map<String, int[]> theirs = new TreeMap<>();
        try (SafeTensorsFile f = SafeTensors.open(PeftFixtures.dir(adapter).resolve("adapter_model.safetensors"))) {
            for (String k : f.names()) {
                theirs.put(k, f.shape(k));
            }
        }
        assertEquals(theirs.keySet(), ours.keySet());
        theirs.forEach((k, shape) -> assertArrayEquals(shape, ours.get(k), k));
        fresh.release();
    }
}
