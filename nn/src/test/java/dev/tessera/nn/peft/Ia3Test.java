package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Scope;
import dev.tessera.nn.models.CausalLM;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** (IA)³: learned scaling vectors. */
class Ia3Test {
    @Test
    void defaultsScaleC_attnOutputsAndTheMlpProjectionsInputOnGpt2() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), Ia3Config.defaults());
        TreeSet<String> keys = new TreeSet<>();
        peft.adapterStateDict("default").forEach((k, v) -> keys.add(k + " " + java.util.Arrays.toString(v.shape())));
        assertEquals(new TreeSet<>(Set.of("base_model.model.transformer.h.0.attn.c_attn.ia3_l [96, 1]",
                "base_model.model.transformer.h.0.mlp.c_proj.ia3_l [1, 128]", "base_model.model.transformer.h.1.attn.c_attn.ia3_l [96, 1]",
                "base_model.model.transformer.h.1.mlp.c_proj.ia3_l [1, 128]")), keys);
        assertEquals("trainable params: 448 || all params: 30,016 || trainable%: 1.4925", peft.trainableParametersLine());
        peft.release();
    }

    @Test
    void llamaDefaultsAreKvAndDownProjection() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), Ia3Config.defaults());
        assertEquals("trainable params: 192 || all params: 24,928 || trainable%: 0.7702", peft.trainableParametersLine());
        Ia3Config c = (Ia3Config) peft.config("default");
        assertEquals(TargetModules.of("down_proj"), c.feedforwardModules());
        peft.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void freshVectorsOfOnesChangeNothing(String base) {
        MethodTraining.freshAdapterLeavesLogitsBitIdentical(base, Ia3Config.defaults());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void trainingChangesOnlyTheVectors(String base) {
        MethodTraining.trainingChangesOnlyItsOwnParameters(base, Ia3Config.defaults(), k -> k.contains(".ia3_l.default"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"peft-gpt2-ia3", "peft-llama-ia3"})
    void mergingMultipliesTheVectorsIntoTheWeights(String fixture) {
        String base = fixture.contains("gpt2") ? "gpt2-tiny" : "llama-tiny";
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(fixture));
        float[] unmerged = MethodTraining.logits(peft);
        peft.merge();
        double err = PeftFixtures.maxAbs(unmerged, MethodTraining.logits(peft));
        assertTrue(err <= 1e-4, "merged off by " + err);
        peft.unmerge();
        assertTrue(PeftFixtures.maxAbs(unmerged, MethodTraining.logits(peft)) <= 1e-4);
        CausalLM merged = peft.mergeAndUnload();
        try (var scope = Scope.open()) {
            assertTrue(PeftFixtures.maxAbs(unmerged, merged.logits(PeftFixtures.batch()[0]).toFloatArray()) <= 1e-4);
        }
        merged.release();
    }

    @Test
    void saveAndLoadRoundTrip(@TempDir Path dir) {
        MethodTraining.fixtureRoundTripsBitExact("gpt2-tiny", "peft-gpt2-ia3", dir);
    }
}
