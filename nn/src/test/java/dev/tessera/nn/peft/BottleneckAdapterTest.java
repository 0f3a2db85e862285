package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.TesseraException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Houlsby bottleneck adapters after the attention and MLP output projections. */
class BottleneckAdapterTest {
    @Test
    void houlsbyPlacementWithTheReductionFactor() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), BottleneckAdapterConfig.defaults().withReductionFactor(8));
        TreeSet<String> keys = new TreeSet<>();
        peft.adapterStateDict("default").forEach((k, v) -> keys.add(k.replace("base_model.model.transformer.h.", "") + " " + Arrays.toString(v.shape())));
        assertEquals(new TreeSet<>(java.util.List.of(
                "0.attn.c_proj.adapter_down.bias [4]", "0.attn.c_proj.adapter_down.weight [4, 32]",
                "0.attn.c_proj.adapter_up.bias [32]", "0.attn.c_proj.adapter_up.weight [32, 4]",
                "0.mlp.c_proj.adapter_down.bias [4]", "0.mlp.c_proj.adapter_down.weight [4, 32]",
                "0.mlp.c_proj.adapter_up.bias [32]", "0.mlp.c_proj.adapter_up.weight [32, 4]",
                "1.attn.c_proj.adapter_down.bias [4]", "1.attn.c_proj.adapter_down.weight [4, 32]",
                "1.attn.c_proj.adapter_up.bias [32]", "1.attn.c_proj.adapter_up.weight [32, 4]",
                "1.mlp.c_proj.adapter_down.bias [4]", "1.mlp.c_proj.adapter_down.weight [4, 32]",
                "1.mlp.c_proj.adapter_up.bias [32]", "1.mlp.c_proj.adapter_up.weight [32, 4]")), keys);
        // 4 adapters of (32·4 + 4) + (4·32 + 32)
        assertEquals(4 * 292, peft.trainableParameterCounts()[0]);
        peft.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void aFreshAdapterIsTheIdentity(String base) {
        MethodTraining.freshAdapterLeavesLogitsBitIdentical(base, BottleneckAdapterConfig.defaults());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void trainingChangesOnlyTheAdapters(String base) {
        MethodTraining.trainingChangesOnlyItsOwnParameters(base, BottleneckAdapterConfig.defaults().withNonLinearity("gelu_new"),
                k -> k.contains(".adapter_down.default.") || k.contains(".adapter_up.default."));
    }

    @Test
    void savesInPeftsLayoutUnderItsOwnTypeAndLoadsBack(@TempDir Path dir) throws Exception {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), BottleneckAdapterConfig.defaults().withReductionFactor(4));
        LoraTest.sgdStep(peft, peft.trainableParameters(), 0.1f);
        MethodTraining.roundTripsBitExact(peft, "llama-tiny", dir);
        String config = Files.readString(dir.resolve("adapter_config.json"));
        assertTrue(config.contains("\"peft_type\": \"BOTTLENECK\"") && config.contains("\"reduction_factor\": 4"), config);
        assertThrows(TesseraException.class, peft::merge, "not linear");
        float[] with = MethodTraining.logits(peft);
        try (var off = peft.disableAdapter()) {
            assertFalse(Arrays.equals(with, MethodTraining.logits(peft)));
        }
        peft.release();
    }
}
