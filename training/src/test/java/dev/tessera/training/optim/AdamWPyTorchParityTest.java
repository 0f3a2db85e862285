package dev.tessera.training.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.nn.models.CausalLM;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * llm.c's protocol: ten AdamW steps on one fixed batch of gpt2-tiny, every step's loss against
 * torch.optim.AdamW (foreach=False) from tools/fixtures/make_adamw.py, in F32.
 */
class AdamWPyTorchParityTest {
    static final Path GPT2 = Path.of("../nn/src/test/resources/fixtures/gpt2-tiny");

    private static void check(String lossesKey, double weightDecay) {
        CausalLM model = CausalLM.load(GPT2);
        model.requiresGrad(true);
        try (SafeTensorsFile ref = SafeTensors.open(GPT2.resolve("adamw_reference.safetensors"))) {
            Tensor ids = ref.load("input_ids"), labels = ref.load("labels");
            float[] expected = ref.load(lossesKey).toFloatArray();
            AdamW opt = new AdamW(ParamGroup.all(model.trainableParameters(), weightDecay), 1e-3, 0.9, 0.999, 1e-8);
            for (int step = 0; step < expected.length; step++) {
                try (var scope = Scope.open()) {
                    Tensor loss = model.loss(ids, labels);
                    assertEquals(expected[step], loss.item(), 1e-4, lossesKey + " step " + step);
                    loss.backward();
                    opt.step();
                    opt.zeroGrad();
                }
            }
            // and every parameter after the ten steps, except the key bias: softmax ignores a shift that
            // is equal across keys, so its true gradient is 0 and both sides hold only rounding noise,
            // which Adam's m/sqrt(v) scales up to lr-sized steps in arbitrary directions
            if (weightDecay == 0) {
                int c = model.config().hiddenSize();
                for (var e : model.namedParameters().entrySet()) {
                    float[] want = ref.load("param_after." + e.getKey()).toFloatArray(), got = e.getValue().toFloatArray();
                    boolean qkvBias = e.getKey().endsWith("attn.c_attn.bias");
                    for (int i = 0; i < want.length; i++) {
                        if (qkvBias && i >= c && i < 2 * c) {
                            continue;
                        }
                        assertEquals(want[i], got[i], 1e-4, e.getKey() + "[" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void tenStepsMatchPyTorchWithoutWeightDecay() {
        check("adamw_losses", 0.0);
    }

    @Test
    void tenStepsMatchPyTorchWithDecoupledWeightDecay() {
        check("adamw_losses_wd", 0.01);
    }
}
