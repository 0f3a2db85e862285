package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Adapters written by real PEFT for IA3, prefix tuning, prompt tuning and LoRA with rsLoRA,
 * rank/alpha patterns, layers_to_transform, a tied output head, modules_to_save and bias="all"
 * (tools/fixtures/peft_methods.py): loaded by Tessera they give PEFT's logits, loss, gradients
 * and trainable-parameter line.
 */
class PeftMethodsParityTest {
    @ParameterizedTest(name = "{1}")
    @CsvSource({
        "gpt2-tiny, peft-gpt2-ia3", "llama-tiny, peft-llama-ia3",
        "gpt2-tiny, peft-gpt2-prefix", "llama-tiny, peft-llama-prefix",
        "gpt2-tiny, peft-gpt2-prompt", "llama-tiny, peft-llama-prompt",
        "llama-tiny, peft-llama-lora-patterns", "gpt2-tiny, peft-gpt2-lora-head"})
    void peftWrittenAdapterMatchesPeft(String base, String fixture) throws IOException {
        Map<String, Tensor> ref = PeftFixtures.reference(fixture);
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(fixture), true);
        try (var scope = Scope.open()) {
            assertEquals(peftSummary(fixture), peft.trainableParametersLine(), "PEFT's trainable-parameter line");
            compare(fixture, peft, ref, true);
        } finally {
            peft.release();
        }
    }

    @Test
    void prefixProjectionMlpMatchesPeftAndItsSavedOutputToo() throws IOException {
        String fixture = "peft-gpt2-prefix-projection";
        Map<String, Tensor> ref = PeftFixtures.reference(fixture);
        PeftModel fresh = PeftModel.of(PeftFixtures.base("gpt2-tiny"), PrefixTuningConfig.of(3).withPrefixProjection(true, 16));
        try (var scope = Scope.open()) {
            assertEquals(peftSummary(fixture), fresh.trainableParametersLine(), "counted with the MLP, as PEFT counts it");
            compare(fixture, fresh, ref, false);
        } finally {
            fresh.release();
        }
        // the saved folder holds only the MLP's output: loaded, it gives the same logits
        PeftModel loaded = PeftModel.load(PeftFixtures.base("gpt2-tiny"), PeftFixtures.dir(fixture));
        try (var scope = Scope.open()) {
            double err = PeftFixtures.maxAbs(ref.get("logits").toFloatArray(), loaded.logits(ref.get("input_ids")).toFloatArray());
            assertTrue(err <= 1e-4, "logits of the saved prefix off by " + err);
            assertEquals(0, loaded.trainableParameterCounts()[0], "loaded for inference: frozen");
        } finally {
            loaded.release();
        }
    }

    /**
     * Sets (or, when loaded, checks) every trainable parameter from {@code param.<PEFT name>},
     * then compares logits, loss and each gradient.
     */
    private static void compare(String fixture, PeftModel peft, Map<String, Tensor> ref, boolean loaded) {
        Map<String, Tensor> params = peft.trainableParameters();
        TreeSet<String> expected = new TreeSet<>();
        for (String k : ref.keySet()) {
            if (k.startsWith("param.")) {
                expected.add(tesseraName(k.substring(6)));
            }
        }
        assertEquals(expected, new TreeSet<>(params.keySet()), "trainable parameters under PEFT's names");
        try (var ng = Autograd.noGrad()) {
            for (var e : ref.entrySet()) {
                if (e.getKey().startsWith("param.")) {
                    Tensor p = params.get(tesseraName(e.getKey().substring(6)));
                    if (loaded) {
                        assertArrayEquals(e.getValue().toFloatArray(), p.toFloatArray(), e.getKey() + " loaded bit-exact");
                    } else {
                        p.copyFrom(e.getValue());
                    }
                }
            }
        }
        Tensor ids = ref.get("input_ids"), labels = ref.get("labels");
        Tensor logits = peft.logits(ids);
        assertArrayEquals(ref.get("logits").shape(), logits.shape(), "logits shape");
        double logitsErr = PeftFixtures.maxAbs(ref.get("logits").toFloatArray(), logits.toFloatArray());
        Tensor loss = peft.loss(ids, labels);
        double lossErr = Math.abs(loss.item() - ref.get("loss").item());
        loss.backward();
        double worst = 0;
        for (var e : ref.entrySet()) {
            if (e.getKey().startsWith("grad.")) {
                Tensor p = params.get(tesseraName(e.getKey().substring(5)));
                double err = PeftFixtures.maxAbs(e.getValue().toFloatArray(), p.grad().toFloatArray());
                worst = Math.max(worst, err);
                assertTrue(err <= 1e-4, fixture + " gradient of " + e.getKey() + " off by " + err);
            }
        }
        System.out.printf("%s: logits %.3g, loss %.3g, gradients %.3g (max |diff|)%n", fixture, logitsErr, lossErr, worst);
        assertTrue(logitsErr <= 1e-4, fixture + " logits off by " + logitsErr);
        assertTrue(lossErr <= 1e-4, fixture + " loss off by " + lossErr);
    }

    /** PEFT's modules_to_save copy ({@code ln_f.modules_to_save.default.weight}) is trained in place in Tessera. */
    private static String tesseraName(String peftName) {
        return peftName.replace(".modules_to_save.default.", ".");
    }

    static String peftSummary(String fixture) throws IOException {
        Path versions = PeftFixtures.dir(fixture).resolve("versions.json");
        return new JsonMapper().readTree(versions.toFile()).get("peft_summary").asText();
    }
}
