package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.OpStats;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Conv1D;
import dev.tessera.nn.Linear;
import dev.tessera.nn.models.CausalLM;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** LoRA's behaviour on the tiny GPT-2 and Llama fixtures. */
class LoraTest {
    private static final Tensor IDS = PeftFixtures.batch()[0];
    private static final Tensor LABELS = PeftFixtures.batch()[1];

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void freshAdapterLeavesLogitsBitIdentical(String base) {
        MethodTraining.freshAdapterLeavesLogitsBitIdentical(base, LoraConfig.defaults().withTargetModules(TargetModules.allLinear()));
    }

    @ParameterizedTest
    @CsvSource({"gpt2-tiny, gpt2-tiny-lora", "llama-tiny, llama-tiny-lora"})
    void mergedAndUnmergedAgreeWithinOneInTenThousand(String base, String adapter) {
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(adapter));
        try (var scope = Scope.open()) {
            float[] unmerged = peft.logits(IDS).toFloatArray();
            peft.merge();
            float[] merged = peft.logits(IDS).toFloatArray();
            double err = PeftFixtures.maxAbs(unmerged, merged);
            System.out.printf("%s merged vs unmerged: max |diff| %.3g%n", adapter, err);
            assertTrue(err <= 1e-4, "merged logits off by " + err);
            peft.unmerge();
            assertTrue(PeftFixtures.maxAbs(unmerged, peft.logits(IDS).toFloatArray()) <= 1e-5, "unmerge restores the outputs");
        } finally {
            peft.release();
        }
    }

    @ParameterizedTest
    @CsvSource({"gpt2-tiny, gpt2-tiny-lora", "llama-tiny, llama-tiny-lora"})
    void mergeAndUnloadGivesAPlainModelThatSavesAndReloads(String base, String adapter, @TempDir Path dir) {
        CausalLM model = PeftFixtures.base(base);
        Set<String> plainNames = new HashSet<>(model.namedParameters().keySet());
        PeftModel peft = PeftModel.load(model, PeftFixtures.dir(adapter));
        float[] withAdapter;
        try (var scope = Scope.open()) {
            withAdapter = peft.logits(IDS).toFloatArray();
        }
        CausalLM merged = peft.mergeAndUnload();
        assertEquals(plainNames, merged.namedParameters().keySet(), "Hugging Face names, no adapter left");
        merged.save(dir);
        CausalLM reloaded = CausalLM.load(dir);
        try (var scope = Scope.open()) {
            double err = PeftFixtures.maxAbs(withAdapter, reloaded.logits(IDS).toFloatArray());
            assertTrue(err <= 1e-4, "merged model off by " + err);
        } finally {
            merged.release();
            reloaded.release();
        }
        assertThrows(TesseraException.class, () -> peft.logits(IDS), "the unloaded PeftModel refuses work");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void trainingStepsChangeAdapterWeightsAndLeaveBaseWeightsBitIdentical(String base) {
        PeftModel peft = PeftModel.of(PeftFixtures.base(base), LoraConfig.defaults().withTargetModules(TargetModules.allLinear()));
        Map<String, Tensor> trainable = peft.trainableParameters();
        Map<String, Tensor> frozen = new java.util.LinkedHashMap<>(peft.namedParameters());
        frozen.keySet().removeAll(trainable.keySet());
        assertTrue(trainable.keySet().stream().allMatch(k -> k.contains(".lora_A.default.") || k.contains(".lora_B.default.")));
        Map<String, float[]> frozenBefore = PeftFixtures.snapshot(frozen);
        Map<String, float[]> trainableBefore = PeftFixtures.snapshot(trainable);
        for (int step = 0; step < 2; step++) { // B starts at 0, so A moves from the second step on
            sgdStep(peft, trainable, 0.1f);
        }
        frozen.forEach((k, v) -> {
            assertArrayEquals(frozenBefore.get(k), v.toFloatArray(), k + " must not change");
            assertNull(v.grad(), k + " gets no gradient");
        });
        trainable.forEach((k, v) -> assertFalse(Arrays.equals(trainableBefore.get(k), v.toFloatArray()), k + " must change"));
        peft.release();
    }

    static void sgdStep(PeftModel peft, Map<String, Tensor> params, float lr) {
        try (var scope = Scope.open()) {
            peft.zeroGrad();
            peft.loss(IDS, LABELS).backward();
            try (var ng = Autograd.noGrad()) {
                params.values().forEach(p -> p.addInPlace(p.grad(), -lr));
            }
        }
    }

    @Test
    void aFrozenWeightCostsNoWeightGradientGemm() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults());
        long onlyAdapters = backwardGemms(peft);
        // un-freezing one base weight of the last block (its input already needs a gradient) adds exactly its weight-gradient GEMM
        for (String name : List.of("transformer.h.1.attn.c_attn.base_layer.weight", "transformer.h.1.attn.c_proj.weight",
                "transformer.h.1.mlp.c_fc.weight", "transformer.h.1.mlp.c_proj.weight")) {
            Tensor w = peft.baseModel().namedParameters().get(name);
            w.requiresGrad(true);
            assertEquals(onlyAdapters + 1, backwardGemms(peft), name);
            w.requiresGrad(false);
            w.zeroGrad();
        }
        assertEquals(onlyAdapters, backwardGemms(peft));
        peft.release();
    }

    private static long backwardGemms(PeftModel peft) {
        try (var scope = Scope.open()) {
            peft.zeroGrad();
            Tensor loss = peft.loss(IDS, LABELS);
            long before = OpStats.gemmCalls();
            loss.backward();
            return OpStats.gemmCalls() - before;
        }
    }

    @Test
    void rsLoraScalesByAlphaOverSqrtR() {
        PeftModel plain = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withR(16).withLoraAlpha(8));
        PeftModel rs = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withR(16).withLoraAlpha(8).withUseRslora(true));
        assertEquals(0.5, lora(plain, "transformer.h.0.attn.c_attn").scaling("default"), 1e-12);
        assertEquals(2.0, lora(rs, "transformer.h.0.attn.c_attn").scaling("default"), 1e-12);
        plain.release();
        rs.release();
    }

    @Test
    void rsLoraScalingIsWhatForwardApplies() {
        Linear base = new Linear(6, 5, true, new Rng(1));
        LoraLinear plain = new LoraLinear(base, 4, 6, 0, new Rng(2));
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            plain.loraB("default").weight().copyFrom(new Rng(3).randn(5, 4));
            Tensor x = new Rng(4).randn(3, 6);
            Tensor expected = base.forward(x).add(x.matmul(plain.loraA("default").weight().t())
                    .matmul(plain.loraB("default").weight().t()).mul(1.5f)); // 6 / 4
            assertTrue(PeftFixtures.maxAbs(expected.toFloatArray(), plain.forward(x).toFloatArray()) <= 1e-6);
        }
        assertEquals(6 / Math.sqrt(4), LoraConfig.scaling(6, 4, true), 1e-12);
    }

    @Test
    void rankAndAlphaPatternsOverrideByModuleName() {
        LoraConfig config = LoraConfig.defaults().withR(4).withLoraAlpha(8)
                .withTargetModules("q_proj", "o_proj", "down_proj")
                .withRankPattern(Map.of("o_proj", 2, "layers\\.1\\.self_attn\\.q_proj", 6))
                .withAlphaPattern(Map.of("down_proj", 3.0));
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), config);
        assertEquals(4, lora(peft, "model.layers.0.self_attn.q_proj").rank("default"));
        assertEquals(6, lora(peft, "model.layers.1.self_attn.q_proj").rank("default"));
        assertEquals(2, lora(peft, "model.layers.0.self_attn.o_proj").rank("default"));
        assertEquals(4.0, lora(peft, "model.layers.1.self_attn.o_proj").scaling("default"), 1e-12); // 8 / 2
        assertEquals(0.75, lora(peft, "model.layers.0.mlp.down_proj").scaling("default"), 1e-12); // 3 / 4
        assertArrayEquals(new int[] {6, 32}, lora(peft, "model.layers.1.self_attn.q_proj").loraA("default").weight().shape());
        peft.release();
    }

    @Test
    void layersToTransformKeepsAdaptersToTheListedLayers() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withLayersToTransform(1));
        assertEquals(Set.of("base_model.model.transformer.h.1.attn.c_attn.lora_A.weight", "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight"),
                peft.adapterStateDict("default").keySet());
        peft.release();
    }

    @Test
    void conv1dTargetsAreRecordedAsFanInFanOut() {
        PeftModel gpt2 = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults());
        PeftModel llama = PeftModel.of(PeftFixtures.base("llama-tiny"), LoraConfig.defaults().withFanInFanOut(true));
        assertTrue(((LoraConfig) gpt2.config("default")).fanInFanOut());
        assertFalse(((LoraConfig) llama.config("default")).fanInFanOut(), "PEFT turns it off for nn.Linear");
        assertTrue(lora(gpt2, "transformer.h.0.attn.c_attn").baseLayer() instanceof Conv1D);
        gpt2.release();
        llama.release();
    }

    @Test
    void gaussianInitDrawsAWithStdOneOverRAndZeroB() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"),
                LoraConfig.defaults().withR(4).withTargetModules(TargetModules.allLinear()).withInitLoraWeights(LoraConfig.LoraInit.GAUSSIAN));
        double sum = 0, sq = 0;
        long n = 0;
        for (var e : peft.adapterStateDict("default").entrySet()) {
            float[] v = e.getValue().toFloatArray();
            if (e.getKey().contains("lora_B")) {
                assertTrue(Arrays.equals(v, new float[v.length]), e.getKey() + " starts at zero");
                continue;
            }
            for (float x : v) {
                sum += x;
                sq += x * x;
                n++;
            }
        }
        double std = Math.sqrt(sq / n - (sum / n) * (sum / n));
        assertEquals(0.25, std, 0.02, "std 1/r");
        peft.release();
    }

    @Test
    void kaimingUniformInitBoundsAByOneOverSqrtIn() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("llama-tiny"), LoraConfig.defaults().withTargetModules("down_proj"));
        float[] a = lora(peft, "model.layers.0.mlp.down_proj").loraA("default").weight().toFloatArray();
        double bound = 1 / Math.sqrt(64);
        double max = 0;
        for (float x : a) {
            max = Math.max(max, Math.abs(x));
        }
        assertTrue(max <= bound && max > 0.8 * bound, "U(-1/sqrt(in), 1/sqrt(in)), max |a| = " + max);
        peft.release();
    }

    // ---------------------------------------------------------------- several adapters

    @Test
    void namedAdaptersSwitchDisableAndDelete() {
        CausalLM model = PeftFixtures.base("llama-tiny");
        float[] baseLogits;
        try (var scope = Scope.open()) {
            baseLogits = model.logits(IDS).toFloatArray();
        }
        LoraConfig random = LoraConfig.defaults().withInitLoraWeights(LoraConfig.LoraInit.RANDOM);
        PeftModel peft = PeftModel.of(model, random, "first");
        peft.addAdapter("second", random.withTargetModules("k_proj", "v_proj"));
        assertEquals(List.of("first", "second"), peft.adapterNames());
        assertEquals("first", peft.activeAdapter(), "adding does not activate");
        try (var scope = Scope.open()) {
            float[] first = peft.logits(IDS).toFloatArray();
            assertTrue(peft.trainableParameters().keySet().stream().allMatch(k -> k.contains(".first.")), "only the active adapter trains");
            peft.setAdapter("second");
            float[] second = peft.logits(IDS).toFloatArray();
            assertTrue(peft.trainableParameters().keySet().stream().allMatch(k -> k.contains(".second.")));
            assertFalse(Arrays.equals(first, second));
            assertFalse(Arrays.equals(baseLogits, second));
            try (var off = peft.disableAdapter()) {
                assertArrayEquals(baseLogits, peft.logits(IDS).toFloatArray(), "disabled: the base model's output");
            }
            assertArrayEquals(second, peft.logits(IDS).toFloatArray(), "enabled again");
            peft.merge();
            try (var off = peft.disableAdapter()) {
                assertTrue(PeftFixtures.maxAbs(baseLogits, peft.logits(IDS).toFloatArray()) <= 1e-5, "disabling unmerges");
            }
            peft.deleteAdapter("second");
            assertEquals(List.of("first"), peft.adapterNames());
            assertEquals("first", peft.activeAdapter());
            assertTrue(peft.namedParameters().keySet().stream().noneMatch(k -> k.contains(".second.")));
            assertTrue(PeftFixtures.maxAbs(first, peft.logits(IDS).toFloatArray()) <= 1e-5, "merge and unmerge round the base weights a little");
            assertTrue(peft.baseModel().getSubmodule("model.layers.0.self_attn.k_proj") instanceof Linear, "layers left without adapters are unwrapped");
            assertThrows(TesseraException.class, () -> peft.setAdapter("second"));
        } finally {
            peft.release();
        }
    }

    // ---------------------------------------------------------------- counting

    @Test
    void printsPeftsLineForGpt2SmallAtRank8() {
        // GPT-2 124M's shapes without its memory: every parameter is a broadcast view of one zero
        CausalLM gpt2 = CausalLM.create(dev.tessera.nn.models.ModelConfig.parse("""
                {"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12,
                 "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "bos_token_id": 50256, "eos_token_id": 50256}""", "gpt2"),
                (name, shape, init) -> Scope.unowned(() -> Tensor.zeros(1).reshape(ones(shape.length)).expand(shape)));
        PeftModel peft = PeftModel.of(gpt2, LoraConfig.defaults());
        assertEquals("trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364", peft.trainableParametersLine());
        assertArrayEquals(new long[] {294_912, 124_734_720}, peft.trainableParameterCounts());
    }

    private static int[] ones(int n) {
        int[] s = new int[n];
        Arrays.fill(s, 1);
        return s;
    }

    @Test
    void biasAllTrainsAndSavesEveryBias() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withBias(LoraConfig.Bias.ALL));
        Set<String> biases = new HashSet<>();
        peft.trainableParameters().keySet().stream().filter(k -> k.contains("bias")).forEach(biases::add);
        assertEquals(13, biases.size(), "6 per block + ln_f");
        assertTrue(peft.adapterStateDict("default").containsKey("base_model.model.transformer.h.0.attn.c_attn.base_layer.bias"));
        assertTrue(peft.adapterStateDict("default").containsKey("base_model.model.transformer.ln_f.bias"));
        peft.release();
    }

    @Test
    void biasLoraOnlyTrainsTheWrappedLayersBiases() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("qwen2-tiny"), LoraConfig.defaults().withBias(LoraConfig.Bias.LORA_ONLY));
        Set<String> expected = Set.of("base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias",
                "base_model.model.model.layers.0.self_attn.v_proj.base_layer.bias", "base_model.model.model.layers.1.self_attn.q_proj.base_layer.bias",
                "base_model.model.model.layers.1.self_attn.v_proj.base_layer.bias");
        Set<String> biases = new HashSet<>();
        peft.trainableParameters().keySet().stream().filter(k -> k.contains("bias")).forEach(biases::add);
        assertEquals(expected, biases);
        assertTrue(peft.adapterStateDict("default").keySet().containsAll(expected.stream().map(k -> k).toList()));
        peft.release();
    }

    @Test
    void modulesToSaveUntiesAndTrainsACopyOfTheOutputHead() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withModulesToSave("lm_head"));
        Tensor wte = peft.baseModel().inputEmbeddings().weight();
        float[] wteBefore = wte.toFloatArray();
        float[] baseLogits;
        try (var off = peft.disableAdapter(); var scope = Scope.open()) {
            baseLogits = peft.logits(IDS).toFloatArray();
        }
        Tensor head = peft.baseModel().lmHead().weight();
        assertTrue(head.requiresGrad() && !wte.requiresGrad(), "the copy trains, the tied embedding does not");
        float[] headBefore = head.toFloatArray();
        sgdStep(peft, peft.trainableParameters(), 0.1f);
        assertArrayEquals(wteBefore, wte.toFloatArray(), "the embedding is untouched");
        assertFalse(Arrays.equals(headBefore, head.toFloatArray()), "the head copy trained");
        assertTrue(peft.adapterStateDict("default").containsKey("base_model.model.lm_head.weight"));
        try (var off = peft.disableAdapter(); var scope = Scope.open()) {
            assertArrayEquals(baseLogits, peft.logits(IDS).toFloatArray(), "disabled: the original head");
        }
        peft.release();
    }

    // ---------------------------------------------------------------- the standalone layer

    @Test
    void standaloneLayerCountsMergesAndFreezesItsBase() {
        Linear base = new Linear(64, 48, false, new Rng(0));
        LoraLinear lora = new LoraLinear(base, 8, 16, 0.0, new Rng(1));
        assertEquals(8 * 64 + 48 * 8, lora.parameterCount(true));
        assertEquals(64 * 48 + 8 * 64 + 48 * 8, lora.parameterCount(false));
        assertEquals(2.0, lora.scaling("default"));
        assertFalse(base.weight().requiresGrad());
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            lora.loraB("default").weight().copyFrom(new Rng(2).randn(48, 8));
            Tensor x = new Rng(3).randn(5, 64);
            float[] unmerged = lora.forward(x).toFloatArray();
            lora.merge();
            assertTrue(lora.isMerged());
            assertTrue(PeftFixtures.maxAbs(unmerged, lora.forward(x).toFloatArray()) <= 1e-4);
            assertTrue(PeftFixtures.maxAbs(unmerged, base.forward(x).toFloatArray()) <= 1e-4, "the delta lives in the base weight");
            lora.unmerge();
            assertTrue(PeftFixtures.maxAbs(unmerged, lora.forward(x).toFloatArray()) <= 1e-5);
        }
    }

    @Test
    void mergeIntoConv1dWritesItsInOutStorage() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withInitLoraWeights(LoraConfig.LoraInit.RANDOM));
        LoraLinear cAttn = lora(peft, "transformer.h.0.attn.c_attn");
        Conv1D conv = (Conv1D) cAttn.baseLayer();
        float[] stored = conv.storedWeight().toFloatArray();
        float[] delta;
        try (var scope = Scope.open()) {
            delta = cAttn.deltaWeight("default").t().contiguous().toFloatArray(); // [in, out]
        }
        peft.merge();
        float[] after = conv.storedWeight().toFloatArray();
        for (int i = 0; i < stored.length; i++) {
            assertEquals(stored[i] + delta[i], after[i], 1e-6);
        }
        peft.release();
    }

    static LoraLinear lora(PeftModel peft, String path) {
        return (LoraLinear) peft.baseModel().getSubmodule(path);
    }
}
