package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Prompt tuning: virtual token embeddings before the input. */
class PromptTuningTest {
    @Test
    void virtualTokensComeFirstAndAreNeverPredicted() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), PromptTuningConfig.of(3));
        Tensor[] batch = PeftFixtures.batch();
        try (var scope = Scope.open()) {
            Tensor logits = peft.logits(batch[0]);
            assertArrayEquals(new int[] {2, 11, 96}, logits.shape());
            // the labels with -100 in front: the last virtual token predicts the first real one, as in PEFT
            long[] l = batch[1].toLongArray();
            long[] padded = new long[2 * 11];
            java.util.Arrays.fill(padded, -100);
            System.arraycopy(l, 0, padded, 3, 8);
            System.arraycopy(l, 8, padded, 14, 8);
            float expected = dev.tessera.nn.models.CausalLM.causalLmLoss(logits, Tensor.ofLongs(padded, 2, 11)).item();
            assertEquals(expected, peft.loss(batch[0], batch[1]).item(), 1e-6);
        }
        assertEquals("trainable params: 96 || all params: 29,664 || trainable%: 0.3236", peft.trainableParametersLine());
        peft.release();
    }

    @Test
    void textInitCopiesTheTokensEmbeddingsRepeatedToN() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), PromptTuningConfig.of(5).withTextInit("some text", new int[] {7, 9}));
        float[] table = peft.baseModel().inputEmbeddings().weight().toFloatArray();
        float[] prompts = peft.adapterStateDict("default").get("prompt_embeddings").toFloatArray();
        int[] rows = {7, 9, 7, 9, 7};
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 32; j++) {
                assertEquals(table[rows[i] * 32 + j], prompts[i * 32 + j]);
            }
        }
        peft.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void trainingChangesOnlyThePromptEmbeddings(String base) {
        MethodTraining.trainingChangesOnlyItsOwnParameters(base, PromptTuningConfig.of(4).withSampleVocabInit(),
                k -> k.equals("prompt_encoder.default.embedding.weight"));
    }

    @Test
    void saveAndLoadRoundTrip(@TempDir Path dir) {
        MethodTraining.fixtureRoundTripsBitExact("gpt2-tiny", "peft-gpt2-prompt", dir);
    }
}
