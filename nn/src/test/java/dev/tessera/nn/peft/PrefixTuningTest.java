package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.core.TesseraException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Prefix tuning: trained per-layer key/value prefixes. */
class PrefixTuningTest {
    @Test
    void theTableHoldsLayersTimesKeysAndValuesOfTheKvHeads() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), PrefixTuningConfig.of(5)); // GQA: 2 kv heads of 8
        assertArrayEquals(new int[] {5, 2 * 2 * 16}, peft.adapterStateDict("default").get("prompt_embeddings").shape());
        assertEquals(List.of("prompt_encoder.default.embedding.weight"), List.copyOf(peft.trainableParameters().keySet()));
        peft.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void trainingChangesOnlyThePrefixes(String base) {
        MethodTraining.trainingChangesOnlyItsOwnParameters(base, PrefixTuningConfig.of(4), k -> k.startsWith("prompt_encoder.default."));
    }

    @Test
    void theReparameterisationMlpTrainsAndIsDroppedWhenSaved(@TempDir Path dir) {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), PrefixTuningConfig.of(3).withPrefixProjection(true, 16));
        MethodTraining.trainingChangesOnlyItsOwnParameters(peft, k -> k.startsWith("prompt_encoder.default."));
        assertEquals(5, peft.trainableParameters().size(), "embedding + two linear layers");
        float[] logits = MethodTraining.logits(peft);
        peft.save(dir);
        PeftModel back = PeftModel.load(PeftFixtures.base("gpt2-tiny"), dir);
        assertEquals(List.of("prompt_encoder.default.embedding.weight"), List.copyOf(back.namedParameters().keySet().stream()
                .filter(k -> k.startsWith("prompt_encoder")).toList()), "only the table is left");
        assertEquals(0, PeftFixtures.maxAbs(logits, MethodTraining.logits(back)), 1e-5);
        peft.release();
        back.release();
    }

    @Test
    void theAdapterChangesTheOutputAndDisablingRemovesIt() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), PrefixTuningConfig.of(2));
        float[] with = MethodTraining.logits(peft);
        float[] without;
        try (var off = peft.disableAdapter()) {
            without = MethodTraining.logits(peft);
        }
        assertFalse(java.util.Arrays.equals(with, without));
        peft.release();
    }

    @Test
    void cannotMerge() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), PrefixTuningConfig.of(2));
        assertThrows(TesseraException.class, peft::merge);
        peft.release();
    }

    @Test
    void saveAndLoadRoundTrip(@TempDir Path dir) {
        MethodTraining.fixtureRoundTripsBitExact("llama-tiny", "peft-llama-prefix", dir);
    }
}
