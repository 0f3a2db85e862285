package dev.tessera.nn.models;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** The committed PyTorch reference folders (tools/fixtures/README.md). */
final class Fixtures {
    private Fixtures() {}

    static Path dir(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/" + name + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Loads the fixture's model, runs {@code use} inside a scope, and releases the model. */
    static void withModel(String name, Consumer<CausalLM> use) {
        CausalLM model = CausalLM.load(dir(name));
        try (var scope = Scope.open()) {
            use.accept(model);
        } finally {
            model.release();
        }
    }

    /** Every tensor of {@code name/reference.safetensors}, as unowned copies. */
    static Map<String, Tensor> reference(String name) {
        return Scope.unowned(() -> {
            Map<String, Tensor> out = new LinkedHashMap<>();
            try (SafeTensorsFile f = SafeTensors.open(dir(name).resolve("reference.safetensors"))) {
                for (String key : f.names()) {
                    out.put(key, f.load(key));
                }
            }
            return out;
        });
    }

    /** Largest |a - e|. */
    static double maxAbs(float[] expected, float[] actual) {
        double err = 0;
        for (int i = 0; i < expected.length; i++) {
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        return err;
    }

    /** Largest |a - e| over the largest |e|. */
    static double maxRelativeToScale(float[] expected, float[] actual) {
        double scale = 1e-30;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        return maxAbs(expected, actual) / scale;
    }
}
