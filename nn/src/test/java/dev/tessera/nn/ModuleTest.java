package dev.tessera.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleTest {
    /** emb -> blocks.0 -> blocks.1 -> head tied to emb. */
    static final class Toy extends Module {
        Toy() {
            ParameterSource src = ParameterSource.random(new Rng(1));
            Embedding emb = addModule("emb", new Embedding(src.under("emb"), 10, 4, Init.normal(0.5)));
            ModuleList<Module> blocks = addModule("blocks", new ModuleList<>(Module.class));
            blocks.add(new Linear(src.under("blocks.0"), 4, 4, true, Init.normal(0.5)));
            blocks.add(new Linear(src.under("blocks.1"), 4, 4, false, Init.normal(0.5)));
            addModule("head", new Linear(emb.weight(), null));
            addModule("drop", new Dropout(0.5f, new Rng(2)));
        }

        @SuppressWarnings("unchecked")
        Tensor forward(Tensor ids) {
            Tensor x = child("emb", Embedding.class).forward(ids);
            for (Module l : (ModuleList<Module>) child("blocks", ModuleList.class)) {
                x = ((LinearLayer) l).forward(x);
            }
            x = child("drop", Dropout.class).forward(x);
            return child("head", LinearLayer.class).forward(x);
        }
    }

    /** Scales another linear layer's output, standing in for an adapter. */
    static final class Doubled extends Module implements LinearLayer {
        private final LinearLayer base;

        Doubled(LinearLayer base) {
            this.base = base;
            addModule("base_layer", (Module) base);
        }

        @Override
        public Tensor forward(Tensor x) {
            return base.forward(x).mul(2f);
        }

        @Override
        public int inFeatures() {
            return base.inFeatures();
        }

        @Override
        public int outFeatures() {
            return base.outFeatures();
        }

        @Override
        public Tensor weight() {
            return base.weight();
        }

        @Override
        public Tensor bias() {
            return base.bias();
        }
    }

    @Test
    void namedParametersUseDottedNamesInRegistrationOrderAndListTiedTensorsOnce() {
        Toy toy = new Toy();
        assertEquals(List.of("emb.weight", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight"),
                List.copyOf(toy.namedParameters().keySet()));
        assertEquals(10 * 4 + 16 + 4 + 16, toy.parameterCount(false));
        assertEquals(toy.namedParameters(), toy.stateDict());
    }

    @Test
    void namedModulesListsEveryModuleDepthFirst() {
        assertEquals(List.of("", "emb", "blocks", "blocks.0", "blocks.1", "head", "drop"),
                List.copyOf(new Toy().namedModules().keySet()));
    }

    @Test
    void freezingCountsOnlyTrainableParameters() {
        Toy toy = new Toy();
        toy.requiresGrad(false);
        toy.getSubmodule("blocks.1").requiresGrad(true);
        assertEquals(16, toy.parameterCount(true));
        assertEquals(List.of("blocks.1.weight"), List.copyOf(toy.trainableParameters().keySet()));
    }

    @Test
    void frozenParametersGetNoGradient() {
        Toy toy = new Toy();
        toy.getSubmodule("blocks.0").requiresGrad(false);
        try (var scope = Scope.open()) {
            toy.forward(Tensor.ofInts(new int[] {1, 2, 3}, 1, 3)).sum().backward();
        }
        assertEquals(null, toy.namedParameters().get("blocks.0.weight").grad());
        assertTrue(toy.namedParameters().get("blocks.1.weight").grad() != null);
    }

    @Test
    void setSubmoduleReplacesTheLayerUsedByForward() {
        Toy toy = new Toy();
        toy.eval();
        try (var scope = Scope.open()) {
            Tensor ids = Tensor.ofInts(new int[] {1, 2, 3}, 1, 3);
            float[] before = toy.forward(ids).toFloatArray();
            Linear original = (Linear) toy.getSubmodule("blocks.1");
            toy.setSubmodule("blocks.1", new Doubled(original));
            float[] after = toy.forward(ids).toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(2 * before[i], after[i], 1e-5);
            }
            assertTrue(toy.namedParameters().containsKey("blocks.1.base_layer.weight"));
            assertSame(original, toy.getSubmodule("blocks.1.base_layer"));
        }
    }

    @Test
    void replacedModulesTakeOverTheTrainingMode() {
        Toy toy = new Toy();
        toy.eval();
        Doubled d = new Doubled((Linear) toy.getSubmodule("blocks.0"));
        toy.setSubmodule("blocks.0", d);
        assertFalse(d.isTraining());
        toy.train();
        assertTrue(toy.getSubmodule("blocks.0.base_layer").isTraining());
    }

    @Test
    void unknownSubmodulesAreNamedInTheError() {
        TesseraException e = assertThrows(TesseraException.class, () -> new Toy().getSubmodule("blocks.7"));
        assertTrue(e.getMessage().contains("blocks.7"), e.getMessage());
        assertThrows(TesseraException.class, () -> new Toy().setSubmodule("nope", new Toy()));
    }

    @Test
    void loadStateDictCopiesValuesAndConvertsBf16() {
        Toy a = new Toy(), b = new Toy();
        try (var scope = Scope.open()) {
            Map<String, Tensor> state = new java.util.LinkedHashMap<>(a.stateDict());
            state.put("blocks.1.weight", state.get("blocks.1.weight").cast(DType.BF16));
            Module.LoadResult r = b.loadStateDict(state, true);
            assertTrue(r.isExact());
            assertArrayClose(a.stateDict().get("emb.weight").toFloatArray(), b.stateDict().get("emb.weight").toFloatArray(), 0);
            assertArrayClose(a.stateDict().get("blocks.1.weight").toFloatArray(), b.stateDict().get("blocks.1.weight").toFloatArray(), 1e-2);
            // the tied head follows the embedding
            assertSame(b.getSubmodule("emb").localParameter("weight"), b.getSubmodule("head").localParameter("weight"));
        }
    }

    @Test
    void loadStateDictAcceptsATiedTensorUnderEitherName() {
        Toy a = new Toy(), b = new Toy();
        try (var scope = Scope.open()) {
            Map<String, Tensor> state = new java.util.LinkedHashMap<>(a.stateDict());
            state.put("head.weight", state.remove("emb.weight"));
            assertTrue(b.loadStateDict(state, true).isExact());
            assertArrayClose(a.stateDict().get("emb.weight").toFloatArray(), b.stateDict().get("emb.weight").toFloatArray(), 0);
        }
    }

    @Test
    void loadStateDictReportsEveryProblemByNameInOneError() {
        Toy a = new Toy(), b = new Toy();
        try (var scope = Scope.open()) {
            Map<String, Tensor> state = new java.util.LinkedHashMap<>(a.stateDict());
            state.remove("blocks.0.bias");
            state.put("blocks.9.weight", Tensor.zeros(2));
            state.put("blocks.1.weight", Tensor.zeros(3, 4));
            float[] before = b.stateDict().get("emb.weight").toFloatArray();
            TesseraException e = assertThrows(TesseraException.class, () -> b.loadStateDict(state, true));
            String msg = e.getMessage();
            assertTrue(msg.contains("blocks.0.bias") && msg.contains("blocks.9.weight") && msg.contains("blocks.1.weight has shape [3, 4]"), msg);
            assertFalse(msg.contains("\n"), msg);
            assertArrayClose(before, b.stateDict().get("emb.weight").toFloatArray(), 0); // nothing written
        }
    }

    @Test
    void nonStrictLoadingReturnsMissingAndUnexpectedNames() {
        Toy a = new Toy(), b = new Toy();
        try (var scope = Scope.open()) {
            Map<String, Tensor> state = new java.util.LinkedHashMap<>(a.stateDict());
            state.remove("blocks.0.bias");
            state.put("extra", Tensor.zeros(2));
            Module.LoadResult r = b.loadStateDict(state, false);
            assertEquals(List.of("blocks.0.bias"), r.missing());
            assertEquals(List.of("extra"), r.unexpected());
        }
    }

    @Test
    void dropoutIsActiveOnlyInTrainingMode() {
        Toy toy = new Toy();
        try (var scope = Scope.open()) {
            Tensor ids = Tensor.ofInts(new int[] {1, 2, 3, 4, 5, 6}, 2, 3);
            toy.eval();
            float[] e1 = toy.forward(ids).toFloatArray(), e2 = toy.forward(ids).toFloatArray();
            assertArrayClose(e1, e2, 0);
            toy.train();
            float[] t1 = toy.forward(ids).toFloatArray();
            assertFalse(java.util.Arrays.equals(e1, t1));
        }
    }

    static void assertArrayClose(float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol, "element " + i);
        }
    }
}
