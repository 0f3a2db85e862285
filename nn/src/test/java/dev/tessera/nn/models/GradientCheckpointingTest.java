package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Recomputing blocks in backward changes no number, with or without dropout. */
class GradientCheckpointingTest {
    private static final String GPT2_WITH_DROPOUT = """
            {"model_type": "gpt2", "vocab_size": 50, "n_positions": 16, "n_embd": 16, "n_layer": 2, "n_head": 2,
             "embd_pdrop": 0.1, "attn_pdrop": 0.1, "resid_pdrop": 0.1}""";
    private static final String LLAMA_WITH_DROPOUT = """
            {"model_type": "llama", "vocab_size": 50, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "attention_dropout": 0.2}""";

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "gpt2-dropout", "llama-dropout"})
    void gradientsAreUnchanged(String which) {
        CausalLM model = switch (which) {
            case "gpt2-dropout" -> CausalLM.create(ModelConfig.parse(GPT2_WITH_DROPOUT, which), 3);
            case "llama-dropout" -> CausalLM.create(ModelConfig.parse(LLAMA_WITH_DROPOUT, which), 3);
            default -> CausalLM.load(Fixtures.dir(which));
        };
        Tensor ids = Tensor.ofInts(new int[] {5, 17, 42, 8, 13, 21, 30, 12, 7, 3, 1, 2}, 2, 6);
        long[] rng = model.dropoutRng().state();
        Map<String, float[]> plain = gradients(model, ids);
        model.dropoutRng().setState(rng);
        model.setGradientCheckpointing(true);
        Map<String, float[]> recomputed = gradients(model, ids);
        for (String name : plain.keySet()) {
            double err = Fixtures.maxAbs(plain.get(name), recomputed.get(name));
            assertTrue(err <= 1e-6, which + " " + name + " differs by " + err);
        }
        model.release();
    }

    private static Map<String, float[]> gradients(CausalLM model, Tensor ids) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (var scope = Scope.open()) {
            model.loss(ids, ids).backward();
            model.namedParameters().forEach((k, v) -> out.put(k, v.grad().toFloatArray()));
        }
        model.zeroGrad();
        return out;
    }
}
