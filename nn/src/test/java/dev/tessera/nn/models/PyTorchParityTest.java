package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Tensor;
import dev.tessera.nn.generate.GenerationConfig;
import dev.tessera.nn.generate.Generator;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Logits, loss, every gradient and greedy ids against transformers' on the committed fixtures (F32). */
class PyTorchParityTest {
    /** Loads the fixture's model and transformers' tensors for it, runs {@code check} inside a scope, releases the model. */
    private static void withModelAndReference(String fixture, BiConsumer<CausalLM, Map<String, Tensor>> check) {
        Map<String, Tensor> ref = Fixtures.reference(fixture);
        Fixtures.withModel(fixture, model -> check.accept(model, ref));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "qwen2-tiny"})
    void logitsMatchWithinOneInTenThousandOfTheirScale(String fixture) {
        withModelAndReference(fixture, (model, ref) -> {
            float[] logits = model.logits(ref.get("input_ids")).toFloatArray();
            double err = Fixtures.maxRelativeToScale(ref.get("logits").toFloatArray(), logits);
            System.out.printf("%s logits: max |diff| / max |ref| = %.3g%n", fixture, err);
            assertTrue(err <= 1e-4, fixture + " logits off by " + err + " of their scale");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "qwen2-tiny"})
    void lossAndEveryGradientMatch(String fixture) {
        withModelAndReference(fixture, (model, ref) -> {
            Tensor loss = model.loss(ref.get("input_ids"), ref.get("labels"));
            loss.backward();
            double lossErr = Math.abs(loss.item() - ref.get("loss").item());
            System.out.printf("%s loss %.7f vs %.7f: |diff| = %.3g%n", fixture, loss.item(), ref.get("loss").item(), lossErr);
            assertTrue(lossErr <= 1e-5, fixture + " loss off by " + lossErr);

            TreeSet<String> expectedNames = new TreeSet<>();
            ref.keySet().stream().filter(k -> k.startsWith("grad.")).forEach(k -> expectedNames.add(k.substring(5)));
            assertEquals(expectedNames, new TreeSet<>(model.namedParameters().keySet()), "parameter names are transformers'");

            double worst = 0;
            String worstName = "";
            for (var e : model.namedParameters().entrySet()) {
                float[] expected = ref.get("grad." + e.getKey()).toFloatArray();
                double err = Fixtures.maxAbs(expected, e.getValue().grad().toFloatArray());
                if (err > worst) {
                    worst = err;
                    worstName = e.getKey();
                }
                assertTrue(err <= 1e-4, fixture + " gradient of " + e.getKey() + " off by " + err);
            }
            System.out.printf("%s gradients: worst max |diff| = %.3g (%s)%n", fixture, worst, worstName);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "qwen2-tiny"})
    void greedyGenerationGivesTransformersIds(String fixture) {
        withModelAndReference(fixture, (model, ref) -> {
            int[] prompt = toInts(ref.get("greedy_prompt").toLongArray());
            int[] expected = toInts(ref.get("greedy_ids").toLongArray());
            int[] got = new Generator(model).generate(prompt, GenerationConfig.greedy(expected.length).withEosTokenIds());
            assertArrayEquals(expected, got, fixture + " greedy ids");
        });
    }

    static int[] toInts(long[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.toIntExact(values[i]);
        }
        return out;
    }
}
