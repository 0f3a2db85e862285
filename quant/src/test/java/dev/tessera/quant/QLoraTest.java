package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.LoraLinear;
import dev.tessera.nn.peft.PeftModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** QLoRA = LoRA (nn.peft.LoraLinear) over Linear4bit base layers, trained on the GPT-2 fixture's fixed batch. */
class QLoraTest {
    static final int[][] IDS = {{5, 17, 42, 8, 63, 91, 30, 12}, {77, 3, 56, 21, 9, 48, 85, 34}};
    static final int[][] LABELS = {{-100, -100, 42, 8, 63, 91, 30, 12}, {77, 3, 56, -100, 9, 48, 85, -100}};

    @TempDir
    Path tmp;

    /** The fixture quantized (NF4, double quant) with LoRA r 8, alpha 16 on every 4-bit layer. */
    static CausalLM qloraGpt2(DType compute) {
        CausalLM model = CausalLM.load(QuantizedModelsTest.GPT2);
        QuantizedModels.quantize(model, new BitsAndBytesConfig(QuantType.NF4, 64, true, compute, null));
        model.requiresGrad(false);
        Rng rng = new Rng(3);
        QuantizedModels.quantizedLayers(model).forEach((name, layer) ->
                model.setSubmodule(name, new LoraLinear(layer, 8, 16, 0.0, rng)));
        return model;
    }

    @Test
    void lossFallsOver50StepsOnlyAdapterWeightsChangeAndMemoryStaysFlat() {
        long[] liveAfterFirstStep = new long[1];
        CausalLM model = qloraGpt2(DType.BF16);
        try {
            Map<String, byte[]> before = snapshot(model);
            Map<String, Tensor> trainable = model.trainableParameters();
            assertEquals(16, trainable.size()); // lora_A and lora_B of 8 layers
            assertTrue(trainable.keySet().stream().allMatch(k -> k.contains(".lora_A.") || k.contains(".lora_B.")), trainable.keySet().toString());

            Adam adam = new Adam(new ArrayList<>(trainable.values()), 1e-2f);
            List<Float> losses = new ArrayList<>();
            for (int step = 0; step < 50; step++) {
                try (var scope = Scope.open()) {
                    Tensor loss = model.loss(ids(IDS), ids(LABELS));
                    loss.backward();
                    losses.add(loss.item());
                    adam.step();
                    model.zeroGrad();
                }
                if (step == 0) {
                    liveAfterFirstStep[0] = Backends.cpu().liveBytes();
                }
            }
            assertEquals(liveAfterFirstStep[0], Backends.cpu().liveBytes(), "tensor memory grew during training");
            System.out.printf("QLoRA on gpt2-tiny: loss %.4f -> %.4f over 50 steps%n", losses.getFirst(), losses.getLast());
            assertTrue(losses.getLast() < 0.5f * losses.getFirst(), losses.toString());

            Map<String, byte[]> after = snapshot(model);
            for (String name : before.keySet()) {
                boolean adapter = trainable.containsKey(name);
                boolean same = Arrays.equals(before.get(name), after.get(name));
                if (adapter && name.contains("lora_B")) {
                    assertFalse(same, name + " should have trained");
                } else if (!adapter) {
                    assertTrue(same, name + " changed but is frozen");
                }
            }
            assertTrue(before.keySet().stream().anyMatch(k -> k.endsWith("base_layer.weight")));
        } finally {
            model.release();
        }
    }

    @Test
    void mergingIntoFourBitsRequantizesAndWarnsOnce() {
        CausalLM model = qloraGpt2(DType.F32);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (var scope = Scope.open()) {
            // a non-zero adapter
            for (Map.Entry<String, Tensor> e : model.trainableParameters().entrySet()) {
                try (var ng = Autograd.noGrad()) {
                    e.getValue().copyFrom(new Rng(e.getKey().hashCode()).normal(0f, 0.05f, e.getValue().shape()));
                }
            }
            Tensor ids = ids(IDS);
            float[] unmerged = model.logits(ids).toFloatArray();
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            List<LoraLinear> loras = new ArrayList<>();
            model.namedModules().values().forEach(m -> {
                if (m instanceof LoraLinear l) {
                    loras.add(l);
                }
            });
            for (LoraLinear l : loras) {
                Linear4bit base = (Linear4bit) l.baseLayer();
                float[] expected = base.weight().add(l.deltaWeight("default")).toFloatArray();
                l.merge();
                float[] merged = base.weight().toFloatArray();
                // requantized: within NF4's rounding of the sum, but not equal to it
                double err2 = 0;
                for (int i = 0; i < expected.length; i++) {
                    err2 = Math.max(err2, Math.abs(expected[i] - merged[i]));
                }
                assertTrue(err2 > 0 && err2 < 0.5, "merge error " + err2);
            }
            float[] merged = model.logits(ids).toFloatArray();
            double worst = 0;
            double scale = 0;
            for (int i = 0; i < merged.length; i++) {
                worst = Math.max(worst, Math.abs(merged[i] - unmerged[i]));
                scale = Math.max(scale, Math.abs(unmerged[i]));
            }
            assertTrue(worst < 0.25 * scale, "merged logits moved by " + worst + " at scale " + scale);
        } finally {
            System.setErr(err);
            model.release();
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        // Once per process: earlier tests may already have printed it.
        assertTrue(text.isEmpty() || text.equals("Merge lora module to 4-bit linear may get different generations due to rounding errors."
                + System.lineSeparator()), text);
    }

    @Test
    void peftModelCountsFourBitValuesAndMergesAndUnloadsToAQuantizedModel() {
        CausalLM model = CausalLM.load(QuantizedModelsTest.GPT2);
        QuantizedModels.quantize(model, new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F32, null));
        PeftModel peft = PeftModel.of(model, LoraConfig.defaults()); // gpt2: c_attn, r 8
        CausalLM merged = null;
        try (var scope = Scope.open()) {
            long[] counts = peft.trainableParameterCounts();
            CausalLM plain = CausalLM.load(QuantizedModelsTest.GPT2);
            long all = plain.parameterCount(false);
            plain.release();
            assertEquals(2 * 8 * (32 + 96), counts[0]);
            assertEquals(all + counts[0], counts[1], "packed 4-bit weights count as their values");
            merged = peft.mergeAndUnload();
            assertTrue(merged.getSubmodule("transformer.h.0.attn.c_attn") instanceof Linear4bit);
            QuantizedModels.save(merged, tmp);
            CausalLM again = QuantizedModels.load(tmp);
            assertEquals(8, QuantizedModels.quantizedLayers(again).size());
            again.release();
        } finally {
            (merged != null ? merged : model).release();
        }
    }

    /** Every parameter's bytes, by name (the 4-bit bases' packed U8 codes included). */
    static Map<String, byte[]> snapshot(CausalLM model) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        model.namedParameters().forEach((k, v) -> out.put(k, v.contiguous().dataSegment().toArray(ValueLayout.JAVA_BYTE)));
        return out;
    }

    static Tensor ids(int[][] rows) {
        int[] flat = new int[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, flat, i * rows[0].length, rows[0].length);
        }
        return Tensor.ofInts(flat, rows.length, rows[0].length);
    }

    /** A plain Adam (no weight decay) on float arrays: the training module's optimizers sit above quant. */
    static final class Adam {
        private final List<Tensor> params;
        private final float lr;
        private final List<float[]> m = new ArrayList<>();
        private final List<float[]> v = new ArrayList<>();
        private int t;

        Adam(List<Tensor> params, float lr) {
            this.params = params;
            this.lr = lr;
            for (Tensor p : params) {
                m.add(new float[(int) p.numel()]);
                v.add(new float[(int) p.numel()]);
            }
        }

        void step() {
            t++;
            double c1 = 1 - Math.pow(0.9, t);
            double c2 = 1 - Math.pow(0.999, t);
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                if (p.grad() == null) {
                    continue;
                }
                float[] g = p.grad().toFloatArray();
                float[] w = p.toFloatArray();
                float[] mi = m.get(i);
                float[] vi = v.get(i);
                for (int j = 0; j < w.length; j++) {
                    mi[j] = 0.9f * mi[j] + 0.1f * g[j];
                    vi[j] = 0.999f * vi[j] + 0.001f * g[j] * g[j];
                    w[j] -= (float) (lr * (mi[j] / c1) / (Math.sqrt(vi[j] / c2) + 1e-8));
                }
                try (var ng = Autograd.noGrad()) {
                    p.copyFrom(Tensor.of(w, p.shape()));
                }
            }
        }
    }
}
