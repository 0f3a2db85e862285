package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * LoRA on a BF16 base (llama-tiny saved by transformers in BF16) against PEFT with
 * {@code torch_dtype=torch.bfloat16} (tools/fixtures/peft_bf16_base.py). The base stays BF16 in
 * Tessera too; PyTorch also keeps its activations in BF16 while Tessera's are F32, so the
 * numbers agree to BF16 precision, not bit for bit.
 */
class Bf16BaseLoraParityTest {
    /**
     * Relative to the largest reference value. PEFT's own logits move by 3.4% of their scale
     * between this BF16 run and the F32 one (llama-tiny-lora), so that is the size of a BF16
     * difference here; Tessera measured 3.7% (logits), 0.2% (loss), 7% (LoRA gradients).
     */
    private static final double LOGITS_TOLERANCE = 5e-2, LOSS_TOLERANCE = 1e-2, GRADIENT_TOLERANCE = 1e-1;

    private static double relativeToScale(float[] expected, float[] actual) {
        double scale = 1e-30;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        return PeftFixtures.maxAbs(expected, actual) / scale;
    }

    @Test
    void loraOnABf16BaseMatchesPeftWithTorchDtypeBfloat16() {
        Map<String, Tensor> ref = PeftFixtures.reference("llama-tiny-bf16");
        CausalLM base = CausalLM.loadFrozen(PeftFixtures.dir("llama-tiny-bf16"), null, CausalLM.WeightInterceptor.NONE);
        assertEquals(DType.BF16, base.lmHead().weight().dtype(), "frozen matrices keep the checkpoint's BF16");
        PeftModel peft = PeftModel.load(base, PeftFixtures.dir("llama-tiny-lora"), true);
        try (var scope = Scope.open()) {
            Tensor[] batch = PeftFixtures.batch();
            double logitsErr = relativeToScale(ref.get("logits").toFloatArray(), peft.logits(batch[0]).toFloatArray());
            Tensor loss = peft.loss(batch[0], batch[1]);
            double lossErr = Math.abs(loss.item() - ref.get("loss").item()) / Math.abs(ref.get("loss").item());
            loss.backward();
            double worstGrad = 0;
            Map<String, Tensor> state = peft.adapterStateDict("default");
            for (var e : state.entrySet()) {
                Tensor expected = ref.get("grad." + e.getKey());
                assertTrue(expected != null, "reference has the gradient of " + e.getKey());
                worstGrad = Math.max(worstGrad, relativeToScale(expected.toFloatArray(), e.getValue().grad().toFloatArray()));
            }
            System.out.printf("bf16 base: logits %.3g, loss %.3g, worst LoRA gradient %.3g (relative)%n", logitsErr, lossErr, worstGrad);
            assertTrue(logitsErr <= LOGITS_TOLERANCE, "logits off by " + logitsErr);
            assertTrue(lossErr <= LOSS_TOLERANCE, "loss off by " + lossErr);
            assertTrue(worstGrad <= GRADIENT_TOLERANCE, "LoRA gradients off by " + worstGrad);
        } finally {
            peft.release();
        }
    }
}
