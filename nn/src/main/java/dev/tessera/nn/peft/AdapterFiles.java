package dev.tessera.nn.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.AtomicFiles;
import dev.tessera.nn.io.Json;
import dev.tessera.nn.io.PythonJson;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.nn.models.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Adapter folders in PEFT's format: {@code adapter_config.json} (Python's
 * {@code json.dumps(indent=2, sort_keys=True)}), {@code adapter_model.safetensors} (F32,
 * {@code {"format": "pt"}}) and a README.md model card; every file written atomically.
 */
final class AdapterFiles {
    static final String CONFIG = "adapter_config.json";
    static final String WEIGHTS = "adapter_model.safetensors";

    private AdapterFiles() {}

    /** Writes {@code adapter}'s folder {@code dir} (created if missing). */
    static void save(PeftModel peft, String adapter, Path dir) {
        PeftConfig c = peft.config(adapter);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new TesseraException(dir + ": cannot create folder (" + e.getMessage() + ")", e);
        }
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            SafeTensors.write(dir.resolve(WEIGHTS), SafeTensors.widenedToF32(peft.adapterStateDict(adapter)));
        }
        AtomicFiles.writeString(dir.resolve(CONFIG), PythonJson.dumps(AdapterConfigJson.toJson(c, peft.baseModel().config())));
        AtomicFiles.writeString(dir.resolve("README.md"), ModelCard.of(c));
    }

    /**
     * The config of the adapter folder {@code dir}, checked against the model ({@code mc}), as
     * it is added: frozen unless {@code trainable}, a prefix MLP dropped (the file holds its output).
     */
    static PeftConfig readConfig(Path dir, ModelConfig mc, boolean trainable) {
        Path configFile = dir.resolve(CONFIG);
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(configFile)) {
            throw new TesseraException(configFile + ": no such file (not a PEFT adapter folder)");
        }
        if (!Files.isRegularFile(weights)) {
            throw new TesseraException(weights + ": no such file" + (Files.isRegularFile(dir.resolve("adapter_model.bin"))
                    ? " (adapter_model.bin is a pickle; save the adapter with safe_serialization=True)" : ""));
        }
        PeftConfig config = AdapterConfigJson.read(configFile, !trainable);
        checkPromptSizes(config, configFile, mc);
        if (config instanceof PrefixTuningConfig p && p.prefixProjection()) {
            // the file holds the MLP's output: the reparameterisation is dropped after training, as in PEFT
            config = p.withPrefixProjection(false, p.encoderHiddenSize());
        }
        return config;
    }

    /** Prefix and prompt configs record the model's sizes; they must be this model's. */
    private static void checkPromptSizes(PeftConfig config, Path file, ModelConfig mc) {
        int[] expected;
        String[] keys = {"num_layers", "token_dim", "num_attention_heads"};
        if (config instanceof PrefixTuningConfig) {
            expected = new int[] {mc.numLayers(), mc.numKvHeads() * mc.headDim(), mc.numKvHeads()};
        } else if (config instanceof PromptTuningConfig) {
            expected = new int[] {mc.numLayers(), mc.hiddenSize(), mc.numHeads()};
        } else {
            return;
        }
        JsonNode n = Json.readObject(file);
        for (int i = 0; i < keys.length; i++) {
            if (n.hasNonNull(keys[i]) && n.get(keys[i]).asInt() != expected[i]) {
                throw new TesseraException(file + ": " + keys[i] + " is " + n.get(keys[i]).asInt() + " but this model has " + expected[i]
                        + " (the adapter was made for another model)");
            }
        }
    }

    /** What the weights file holds for the adapter, checked: tensors to copy and base weights PEFT saved along. */
    private record Matched(Map<Tensor, String> copies, Map<String, Tensor> baseWeights, List<String> problems) {}

    /**
     * Copies the weights of folder {@code dir} into adapter {@code name}, just added; when they do
     * not fit, the adapter is deleted again and every problem reported in one line.
     */
    static void readWeights(PeftModel peft, String name, Path dir) {
        Path weights = dir.resolve(WEIGHTS);
        try (SafeTensorsFile f = SafeTensors.open(weights)) {
            Matched m = match(peft, name, f);
            if (!m.problems().isEmpty()) {
                String type = peft.config(name).peftType();
                peft.deleteAdapter(name);
                throw new TesseraException(weights + ": does not fit the " + type + " adapter: " + String.join("; ", m.problems()));
            }
            try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
                m.copies().forEach((param, key) -> param.copyFrom(f.tensor(key)));
                m.baseWeights().forEach((key, base) -> {
                    Tensor saved = f.tensor(key).cast(DType.F32);
                    if (!Arrays.equals(saved.toFloatArray(), base.toFloatArray())) {
                        base.copyFrom(saved); // PEFT saved a base weight that differs (e.g. resized embeddings)
                    }
                });
            }
        }
    }

    private static Matched match(PeftModel peft, String name, SafeTensorsFile f) {
        Map<String, Tensor> expected = peft.adapterStateDict(name);
        List<String> problems = new ArrayList<>();
        Map<Tensor, String> copies = new IdentityHashMap<>();
        for (var e : expected.entrySet()) {
            if (!f.contains(e.getKey())) {
                problems.add("missing " + e.getKey());
            } else if (shapeFits(f, e.getKey(), e.getValue(), problems)) {
                copies.put(e.getValue(), e.getKey());
            }
        }
        Map<String, Tensor> baseWeights = new LinkedHashMap<>();
        Set<String> unexpected = new TreeSet<>();
        for (String key : f.names()) {
            if (expected.containsKey(key)) {
                continue;
            }
            Tensor base = AdapterState.baseLayerWeight(peft, key);
            if (base == null) {
                unexpected.add(key);
            } else if (shapeFits(f, key, base, problems)) {
                baseWeights.put(key, base);
            }
        }
        if (!unexpected.isEmpty()) {
            problems.add("unexpected " + unexpected);
        }
        return new Matched(copies, baseWeights, problems);
    }

    private static boolean shapeFits(SafeTensorsFile f, String key, Tensor target, List<String> problems) {
        if (Arrays.equals(f.shape(key), target.shape())) {
            return true;
        }
        problems.add(key + " has shape " + Arrays.toString(f.shape(key)) + ", expected " + Arrays.toString(target.shape()));
        return false;
    }
}
