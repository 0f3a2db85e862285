package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/** Shared checks of the adapter-method tests. */
final class MethodTraining {
    private MethodTraining() {}

    /**
     * Two SGD steps on the fixed batch: every parameter named as the method's own changes, every
     * other parameter (the whole base model) stays bit-identical and gets no gradient.
     */
    static void trainingChangesOnlyItsOwnParameters(PeftModel peft, Predicate<String> own) {
        Map<String, Tensor> trainable = peft.trainableParameters();
        assertFalse(trainable.isEmpty());
        trainable.keySet().forEach(k -> assertTrue(own.test(k), k + " is trainable but not the adapter's"));
        Map<String, Tensor> frozen = new LinkedHashMap<>(peft.namedParameters());
        frozen.keySet().removeAll(trainable.keySet());
        Map<String, float[]> frozenBefore = PeftFixtures.snapshot(frozen), trainableBefore = PeftFixtures.snapshot(trainable);
        for (int step = 0; step < 2; step++) {
            LoraTest.sgdStep(peft, trainable, 0.05f);
        }
        frozen.forEach((k, v) -> {
            assertArrayEquals(frozenBefore.get(k), v.toFloatArray(), k + " must not change");
            assertNull(v.grad(), k);
        });
        trainable.forEach((k, v) -> assertFalse(Arrays.equals(trainableBefore.get(k), v.toFloatArray()), k + " must change"));
    }

    /** {@link #trainingChangesOnlyItsOwnParameters} for a fresh adapter of {@code config} on the fixture {@code base}. */
    static void trainingChangesOnlyItsOwnParameters(String base, PeftConfig config, Predicate<String> own) {
        PeftModel peft = PeftModel.of(PeftFixtures.base(base), config);
        try {
            trainingChangesOnlyItsOwnParameters(peft, own);
        } finally {
            peft.release();
        }
    }

    /** Saves, loads into a fresh base, and checks tensors and logits are identical. */
    static void roundTripsBitExact(PeftModel peft, String base, Path dir) {
        Tensor ids = PeftFixtures.batch()[0];
        peft.save(dir);
        PeftModel back = PeftModel.load(PeftFixtures.base(base), dir);
        try (var scope = Scope.open()) {
            Map<String, Tensor> a = peft.adapterStateDict("default"), b = back.adapterStateDict("default");
            assertArrayEquals(a.keySet().toArray(), b.keySet().toArray());
            a.forEach((k, v) -> assertArrayEquals(v.toFloatArray(), b.get(k).toFloatArray(), k));
            assertArrayEquals(peft.logits(ids).toFloatArray(), back.logits(ids).toFloatArray());
        } finally {
            back.release();
        }
    }

    /** Loads the adapter fixture over its base and checks it survives {@link #roundTripsBitExact}. */
    static void fixtureRoundTripsBitExact(String base, String fixture, Path dir) {
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(fixture));
        try {
            roundTripsBitExact(peft, base, dir);
        } finally {
            peft.release();
        }
    }

    /** A freshly initialised adapter of {@code config} leaves the base model's logits bit-identical. */
    static void freshAdapterLeavesLogitsBitIdentical(String base, PeftConfig config) {
        CausalLM model = PeftFixtures.base(base);
        float[] before;
        try (var scope = Scope.open()) {
            before = model.logits(PeftFixtures.batch()[0]).toFloatArray();
        }
        PeftModel peft = PeftModel.of(model, config);
        try {
            assertArrayEquals(before, logits(peft));
        } finally {
            peft.release();
        }
    }

    static float[] logits(PeftModel peft) {
        try (var scope = Scope.open()) {
            return peft.logits(PeftFixtures.batch()[0]).toFloatArray();
        }
    }
}
