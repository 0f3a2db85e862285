package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Attention;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.nn.peft.PrefixTuningConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Packed rows (several examples back to back, Hugging Face's padding-free training): every
 * example gets the logits, loss and gradients it gets alone.
 */
class PackedSequencesTest {
    private static final String MISTRAL_WINDOW_3 = """
            {"model_type": "mistral", "vocab_size": 96, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "sliding_window": 3}""";

    private static final long[][] EXAMPLES = {
        {5, 17, 42, 8, 13},
        {21, 30, 12, 7},
        {3, 1, 2, 60, 61, 62, 9},
        {44, 45},
    };
    // row 0: [ex0 | ex1 | pad pad], row 1: [ex2 | ex3 | pad], T = 11
    private static final int[][] ROWS = {{0, 1}, {2, 3}};
    private static final int T = 11, PAD = 0;

    /** ids, labels (first label of every example -100, padding -100), positions and sequence ids, [2, T] each. */
    private record Packed(Tensor ids, Tensor labels, Tensor positions, Tensor sequences, int[][] starts) {}

    private static Packed packed() {
        long[] ids = new long[ROWS.length * T], labels = new long[ids.length], pos = new long[ids.length], seq = new long[ids.length];
        Arrays.fill(ids, PAD);
        Arrays.fill(labels, -100);
        Arrays.fill(seq, -1);
        int[][] starts = new int[ROWS.length][];
        for (int r = 0; r < ROWS.length; r++) {
            starts[r] = new int[ROWS[r].length];
            int at = r * T;
            for (int s = 0; s < ROWS[r].length; s++) {
                long[] ex = EXAMPLES[ROWS[r][s]];
                starts[r][s] = at - r * T;
                for (int p = 0; p < ex.length; p++, at++) {
                    ids[at] = ex[p];
                    labels[at] = p == 0 ? -100 : ex[p];
                    pos[at] = p;
                    seq[at] = s;
                }
            }
        }
        return new Packed(Tensor.ofLongs(ids, ROWS.length, T), Tensor.ofLongs(labels, ROWS.length, T),
                Tensor.ofLongs(pos, ROWS.length, T), Tensor.ofLongs(seq, ROWS.length, T), starts);
    }

    private static Tensor alone(long[] ex) {
        return Tensor.ofLongs(ex, 1, ex.length);
    }

    private static CausalLM model(String which) {
        return which.equals("mistral-window-3")
                ? CausalLM.create(ModelConfig.parse(MISTRAL_WINDOW_3, which), 11)
                : CausalLM.load(Fixtures.dir(which));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "qwen2-tiny", "mistral-window-3"})
    void everyExampleGetsTheLogitsItHasAlone(String which) {
        CausalLM model = model(which);
        try (var scope = Scope.open()) {
            Packed p = packed();
            int v = model.config().vocabSize();
            float[] logits = model.logits(p.ids(), p.positions(), p.sequences()).toFloatArray(); // [2, T, V]
            for (int r = 0; r < ROWS.length; r++) {
                for (int s = 0; s < ROWS[r].length; s++) {
                    long[] ex = EXAMPLES[ROWS[r][s]];
                    float[] expected = model.logits(alone(ex)).toFloatArray(); // [1, n, V]
                    int from = (r * T + p.starts()[r][s]) * v;
                    float[] actual = Arrays.copyOfRange(logits, from, from + ex.length * v);
                    double err = Fixtures.maxAbs(expected, actual);
                    assertTrue(err <= 1e-5, which + " row " + r + " example " + s + " differs by " + err);
                }
            }
            for (float x : logits) {
                assertTrue(Float.isFinite(x), which + ": padding made a non-finite logit");
            }
        }
        model.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "mistral-window-3"})
    void packedLossAndGradientsAreTheTokenWeightedMeanOfTheExamples(String which) {
        CausalLM model = model(which);
        model.requiresGrad(true);
        Packed p = packed();
        float packedLoss;
        Map<String, float[]> packedGrads;
        try (var scope = Scope.open()) {
            Tensor loss = model.loss(p.ids(), p.labels(), p.positions(), p.sequences());
            packedLoss = loss.item();
            loss.backward();
            packedGrads = grads(model);
        }
        float separateLoss;
        Map<String, float[]> separateGrads;
        try (var scope = Scope.open()) {
            int targets = Arrays.stream(EXAMPLES).mapToInt(e -> e.length - 1).sum();
            Tensor sum = null;
            for (long[] ex : EXAMPLES) {
                Tensor weighted = model.loss(alone(ex), alone(ex)).mul((float) (ex.length - 1) / targets);
                sum = sum == null ? weighted : sum.add(weighted);
            }
            separateLoss = sum.item();
            sum.backward();
            separateGrads = grads(model);
        }
        assertEquals(separateLoss, packedLoss, 1e-5, which);
        for (String name : packedGrads.keySet()) {
            double err = Fixtures.maxAbs(separateGrads.get(name), packedGrads.get(name));
            assertTrue(err <= 1e-5, which + " " + name + " gradient differs by " + err);
        }
        model.release();
    }

    @Test
    void aPredictionAcrossAnExampleBoundaryIsNeverScored() {
        CausalLM model = model("gpt2-tiny");
        try (var scope = Scope.open()) {
            Packed p = packed();
            Tensor unmaskedLabels = p.ids(); // first tokens and padding labelled too
            float masked = model.loss(p.ids(), p.labels(), p.positions(), p.sequences()).item();
            float unmasked = model.loss(p.ids(), unmaskedLabels, p.positions(), p.sequences()).item();
            assertEquals(masked, unmasked, 1e-6);
        }
        model.release();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void oneExamplePerRowIsThePlainForward(String which) {
        CausalLM model = model(which);
        try (var scope = Scope.open()) {
            long[] ex = EXAMPLES[2];
            long[] pos = new long[ex.length], seq = new long[ex.length];
            for (int i = 0; i < ex.length; i++) {
                pos[i] = i;
            }
            Tensor ids = alone(ex);
            float[] plain = model.logits(ids).toFloatArray();
            float[] packed = model.logits(ids, Tensor.ofLongs(pos, 1, ex.length), Tensor.ofLongs(seq, 1, ex.length)).toFloatArray();
            assertTrue(Fixtures.maxAbs(plain, packed) <= 1e-6, which);
        }
        model.release();
    }

    @Test
    void gradientCheckpointingChangesNoPackedGradient() {
        CausalLM model = model("llama-tiny");
        Packed p = packed();
        Function<CausalLM, Map<String, float[]>> run = m -> {
            try (var scope = Scope.open()) {
                m.loss(p.ids(), p.labels(), p.positions(), p.sequences()).backward();
                return grads(m);
            }
        };
        Map<String, float[]> plain = run.apply(model);
        model.setGradientCheckpointing(true);
        Map<String, float[]> recomputed = run.apply(model);
        for (String name : plain.keySet()) {
            assertTrue(Fixtures.maxAbs(plain.get(name), recomputed.get(name)) <= 1e-6, name);
        }
        model.release();
    }

    @Test
    void sequenceMaskIsCausalWithinEachExampleAndHidesPadding() {
        // [ex0 ex0 ex0 | ex1 ex1 | pad]
        float[] m = Attention.sequenceMask(new long[] {0, 0, 0, 1, 1, -1}, 1, 6, 0).toFloatArray();
        List<String> visible = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            StringBuilder row = new StringBuilder();
            for (int j = 0; j < 6; j++) {
                row.append(m[i * 6 + j] == 0f ? '1' : '.');
            }
            visible.add(row.toString());
        }
        assertEquals(List.of("1.....", "11....", "111...", "...1..", "...11.", ".....1"), visible);
    }

    @Test
    void sequenceMaskKeepsTheSlidingWindowInsideAnExample() {
        float[] m = Attention.sequenceMask(new long[] {0, 0, 0, 0, 1, 1}, 1, 6, 2).toFloatArray();
        float[] expected = new float[36];
        Arrays.fill(expected, Float.NEGATIVE_INFINITY);
        int[][] pairs = {{0, 0}, {1, 0}, {1, 1}, {2, 1}, {2, 2}, {3, 2}, {3, 3}, {4, 4}, {5, 4}, {5, 5}};
        for (int[] q : pairs) {
            expected[q[0] * 6 + q[1]] = 0f;
        }
        assertArrayEquals(expected, m);
    }

    @Test
    void loraTrainsOnPackedRowsAsOnSeparateExamples() {
        CausalLM base = model("llama-tiny");
        PeftModel peft = PeftModel.of(base, LoraConfig.defaults().withR(4).withLoraAlpha(8));
        Packed p = packed();
        int targets = Arrays.stream(EXAMPLES).mapToInt(e -> e.length - 1).sum();
        try (var scope = Scope.open()) {
            float packed = peft.loss(p.ids(), p.labels(), p.positions(), p.sequences()).item();
            double separate = 0;
            for (long[] ex : EXAMPLES) {
                separate += (double) peft.loss(alone(ex), alone(ex)).item() * (ex.length - 1) / targets;
            }
            assertEquals(separate, packed, 1e-5);
        }
        peft.release();
    }

    @Test
    void prefixTuningRefusesPackedRows() {
        CausalLM base = model("gpt2-tiny");
        PeftModel peft = PeftModel.of(base, PrefixTuningConfig.of(3));
        Packed p = packed();
        var e = assertThrows(TesseraException.class, () -> peft.loss(p.ids(), p.labels(), p.positions(), p.sequences()));
        assertTrue(e.getMessage().contains("packed"), e.getMessage());
        peft.release();
    }

    @Test
    void mismatchedPackingTensorsAreRefused() {
        CausalLM model = model("gpt2-tiny");
        Packed p = packed();
        var e = assertThrows(TesseraException.class,
                () -> model.logits(p.ids(), p.positions().narrow(1, 0, 4).contiguous(), p.sequences()));
        assertTrue(e.getMessage().contains("position and sequence ids"), e.getMessage());
        long[] far = new long[ROWS.length * T];
        Arrays.fill(far, 40); // n_positions = 32
        assertThrows(TesseraException.class, () -> model.logits(p.ids(), Tensor.ofLongs(far, ROWS.length, T), p.sequences()));
        model.release();
    }

    private static Map<String, float[]> grads(CausalLM model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.namedParameters().forEach((k, v) -> out.put(k, v.grad().toFloatArray()));
        model.zeroGrad();
        return out;
    }
}
