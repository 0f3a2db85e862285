package dev.tessera.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.io.WeightFolderReader;
import dev.tessera.nn.io.WeightFolders;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a model folder in transformers' bitsandbytes layout (see {@link QuantizedModels}):
 * {@link Linear4bit} layers where the folder holds 4-bit weights, the rest as
 * {@link CausalLM#load(Path)} reads them, every problem reported together.
 */
final class QuantizedFolderReader {
    private static final Pattern QUANT_STATE = Pattern.compile("(.+)\\.weight\\.quant_state\\.bitsandbytes__(nf4|fp4)");

    private QuantizedFolderReader() {}

    static CausalLM load(Path dir) {
        Path configFile = dir.resolve("config.json");
        ModelConfig config = ModelConfig.read(configFile);
        JsonNode qc = QuantizedModels.quantizationConfig(config);
        if (qc == null) {
            return CausalLM.load(dir);
        }
        BitsAndBytesConfig bnb = BitsAndBytesConfig.fromJson(qc, configFile.toString());
        try (WeightFolderReader weights = WeightFolders.open(dir)) {
            Set<String> quantized = new TreeSet<>();
            for (String name : weights.names()) {
                Matcher m = QUANT_STATE.matcher(name);
                if (m.matches()) {
                    quantized.add(m.group(1));
                }
            }
            QuantizedWeightSource source = new QuantizedWeightSource(weights, quantized);
            CausalLM model = CausalLM.create(config, source);
            try {
                List<String> problems = new ArrayList<>(source.problems);
                Map<String, Linear4bit> layers = new LinkedHashMap<>();
                for (String name : quantized) {
                    try {
                        layers.put(name, readLayer(model, name, weights, bnb.computeDtype()));
                    } catch (TesseraException | IllegalArgumentException e) {
                        problems.add(e.getMessage());
                    }
                }
                source.addUnexpected(config, problems);
                if (!problems.isEmpty()) {
                    layers.values().forEach(Linear4bit::release);
                    throw new TesseraException(dir + ": checkpoint does not fit the " + config.modelType()
                            + " model of config.json: " + String.join("; ", problems));
                }
                layers.forEach(model::setSubmodule);
                source.placeholders.forEach(Tensor::release);
                return model;
            } catch (RuntimeException | Error e) {
                model.release();
                throw e;
            }
        }
    }

    /** The 4-bit layer stored under module {@code name}, over the bias the model already loaded. */
    private static Linear4bit readLayer(CausalLM model, String name, WeightFolderReader weights, DType compute) {
        Module old;
        try {
            old = model.getSubmodule(name);
        } catch (TesseraException e) {
            throw new TesseraException(name + ".weight: 4-bit weight for a module the model does not have");
        }
        if (!QuantizedModels.isLinear(old)) {
            throw new TesseraException(name + ".weight: 4-bit weight for a " + old.getClass().getSimpleName()
                    + ", expected a linear layer");
        }
        LinearLayer lin = (LinearLayer) old;
        String weightKey = name + ".weight";
        Map<String, StoredTensor> stored = new LinkedHashMap<>();
        for (String key : weights.names()) {
            if (key.equals(weightKey) || key.startsWith(weightKey + ".")) {
                String dtype = weights.dtypeName(key);
                if (!dtype.equals("U8") && !dtype.equals("F32")) {
                    throw new TesseraException(key + ": dtype " + dtype + ", expected U8 or F32 in a 4-bit layer");
                }
                long[] shape = Arrays.stream(weights.shape(key)).asLongStream().toArray();
                byte[] data;
                try (var scope = Scope.open()) {
                    data = weights.read(key).dataSegment().toArray(ValueLayout.JAVA_BYTE); // file reads: no resident mapping
                }
                stored.put(key, new StoredTensor(dtype, shape, data));
            }
        }
        Quantized4Bit q = Quantized4Bit.fromTensors(weightKey, stored);
        long[] expected = {lin.outFeatures(), lin.inFeatures()};
        if (!Arrays.equals(q.state().shape(), expected)) {
            throw new TesseraException(weightKey + ": quant_state shape " + Arrays.toString(q.state().shape())
                    + ", expected [out, in] = " + Arrays.toString(expected));
        }
        return new Linear4bit(q, lin.bias(), compute);
    }
}
