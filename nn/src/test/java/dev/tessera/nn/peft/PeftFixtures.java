package dev.tessera.nn.peft;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.nn.models.CausalLM;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The committed reference folders (tools/fixtures/README.md) and small comparison helpers. */
final class PeftFixtures {
    private PeftFixtures() {}

    static Path dir(String name) {
        try {
            return Path.of(PeftFixtures.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The base model of a fixture folder, copied into memory (writable). */
    static CausalLM base(String name) {
        return CausalLM.load(dir(name));
    }

    /** Every tensor of {@code name/reference.safetensors}, as unowned copies. */
    static Map<String, Tensor> reference(String name) {
        return tensors(dir(name).resolve("reference.safetensors"));
    }

    static Map<String, Tensor> tensors(Path file) {
        return Scope.unowned(() -> {
            Map<String, Tensor> out = new LinkedHashMap<>();
            try (SafeTensorsFile f = SafeTensors.open(file)) {
                for (String key : f.names()) {
                    out.put(key, f.load(key));
                }
            }
            return out;
        });
    }

    /** The fixed batch's ids and labels [2, 8]. */
    static Tensor[] batch() {
        Map<String, Tensor> ref = reference("gpt2-tiny");
        return new Tensor[] {ref.get("input_ids"), ref.get("labels")};
    }

    /** Largest |a - e|. */
    static double maxAbs(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("lengths " + expected.length + " and " + actual.length);
        }
        double err = 0;
        for (int i = 0; i < expected.length; i++) {
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        return err;
    }

    /** A copy of every parameter's values, by name. */
    static Map<String, float[]> snapshot(Map<String, Tensor> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }
}
