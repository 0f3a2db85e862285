package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.TesseraException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile config.json files beside real weights: random value changes (huge, negative, zero,
 * wrong types), deleted keys and truncations must end in a one-line TesseraException or a
 * working model — never another exception and never an allocation sized by the config alone.
 */
class ConfigFuzzTest {
    static final Path GPT2 = Path.of("src/test/resources/fixtures/gpt2-tiny");
    static final Path LLAMA = Path.of("src/test/resources/fixtures/llama-tiny");

    private static final Object[] VALUES = {0, -1, 1, 3, 7, 1 << 20, 100_000, Integer.MAX_VALUE, 1L << 40, 1e300, -0.5, "x", true, null, 64, 2};

    @Test
    @Timeout(300)
    void mutatedConfigsBesideRealWeightsFailCleanly(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        for (Path fixture : List.of(GPT2, LLAMA)) {
            ObjectNode original = (ObjectNode) json.readTree(fixture.resolve("config.json").toFile());
            List<String> keys = new ArrayList<>();
            original.fieldNames().forEachRemaining(keys::add);
            Path folder = dir.resolve(fixture.getFileName());
            Files.createDirectories(folder);
            Files.copy(fixture.resolve("model.safetensors"), folder.resolve("model.safetensors"));
            qt().withExamples(100).forAll(integers().between(0, keys.size() - 1), integers().between(0, VALUES.length), longs().all())
                    .checkAssert((k, v, seed) -> {
                        ObjectNode mutated = original.deepCopy();
                        String text;
                        if (v == VALUES.length) {
                            mutated.remove(keys.get(k));
                            text = mutated.toString();
                        } else {
                            mutated.set(keys.get(k), json.valueToTree(VALUES[v]));
                            text = mutated.toString();
                        }
                        if (Math.floorMod(seed, 7) == 0) {
                            text = text.substring(0, (int) Math.floorMod(seed, text.length()));
                        }
                        try {
                            Files.writeString(folder.resolve("config.json"), text);
                            CausalLM.load(folder).release();
                        } catch (TesseraException e) {
                            if (e.getMessage() == null || e.getMessage().contains("\n")) {
                                fail("not a one-line error: " + e.getMessage());
                            }
                        } catch (Exception | OutOfMemoryError e) {
                            fail(keys.get(k) + " = " + (v == VALUES.length ? "<removed>" : VALUES[v]) + ": " + e, e);
                        }
                    });
        }
    }
}
