package dev.tessera.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Conv1D;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.io.AtomicFiles;
import dev.tessera.nn.io.PythonJson;
import dev.tessera.nn.io.WeightFolderWriter;
import dev.tessera.nn.io.WeightFolders;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * 4-bit models in transformers' bitsandbytes layout: quantize a loaded model's linear layers
 * ({@code load_in_4bit}), save it as transformers saves a bitsandbytes model, and load such a
 * folder back. {@link #load} also takes plain folders, so whatever accepts a model folder can
 * take a quantized one.
 *
 * <pre>{@code
 * CausalLM model = CausalLM.load(Path.of("models/gpt2"));
 * QuantizedModels.quantize(model, BitsAndBytesConfig.qlora());   // every linear but lm_head -> Linear4bit
 * QuantizedModels.save(model, Path.of("gpt2-nf4"));
 * CausalLM again = QuantizedModels.load(Path.of("gpt2-nf4"));     // Linear4bit layers, same bytes
 * System.out.println(QuantMemory.report(again).toText());
 * }</pre>
 *
 * <p>A quantized folder holds {@code config.json} with {@code quantization_config} (every key
 * transformers writes, the file itself in transformers' format: sorted keys, two-space indent)
 * and {@code model.safetensors} (sharded past 5 GB) where each 4-bit layer {@code M} is stored
 * as {@code M.weight} (packed U8 {@code [(n+1)/2, 1]}), {@code M.weight.absmax},
 * {@code M.weight.quant_map}, with double quantization {@code M.weight.nested_absmax} and
 * {@code M.weight.nested_quant_map}, and {@code M.weight.quant_state.bitsandbytes__nf4} (or
 * {@code __fp4}), the JSON of the rest; every other tensor is F32. Which layers are 4-bit is
 * read from the tensors, not from the config. Loading and saving again is bit-exact.
 */
public final class QuantizedModels {
    /** What {@code quantize} copies beside the weights so the new folder tokenizes and generates. */
    private static final List<String> COMPANION_FILES = List.of("generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt",
            "tokenizer.model", "chat_template.jinja", "chat_template.json");

    private QuantizedModels() {}

    // ---------------------------------------------------------------- quantize in memory

    /**
     * Replaces every {@link Linear} and GPT-2 {@link Conv1D} of {@code model} by a
     * {@link Linear4bit}, as transformers' {@code load_in_4bit} does, except the modules the
     * config skips (by default the output head) and layers whose weight is tied to another
     * parameter (which would come untied). Conv1D weights are quantized transposed, in
     * {@code [out, in]} layout. Biases are kept (F32, the same tensors); the replaced F32
     * weights are released. Returns the names of the quantized modules, in model order.
     */
    public static List<String> quantize(CausalLM model, BitsAndBytesConfig config) {
        return quantize(model, config, (done, total) -> { });
    }

    /** As {@link #quantize(CausalLM, BitsAndBytesConfig)}, telling {@code progress} (layers done, layers in all) after each layer. */
    public static List<String> quantize(CausalLM model, BitsAndBytesConfig config, java.util.function.BiConsumer<Integer, Integer> progress) {
        Map<String, Module> modules = model.namedModules();
        Set<String> targets = layersToQuantize(model, config).keySet();
        int candidates = (int) modules.values().stream().filter(QuantizedModels::isLinear).count();
        int seen = 0;
        List<String> quantized = new ArrayList<>();
        List<Tensor> replaced = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            Module m = e.getValue();
            if (!isLinear(m)) {
                continue;
            }
            progress.accept(++seen, candidates);
            if (!targets.contains(e.getKey())) {
                continue;
            }
            Linear4bit q = Linear4bit.quantize((LinearLayer) m, config.quantType(), config.blocksize(),
                    config.doubleQuant(), config.computeDtype());
            model.setSubmodule(e.getKey(), q);
            quantized.add(e.getKey());
            replaced.add(m.localParameter("weight"));
        }
        Set<Tensor> live = identitySet(model.namedParameters().values());
        for (Tensor w : replaced) {
            if (!live.contains(w)) {
                w.release();
            }
        }
        return quantized;
    }

    /**
     * Loads a plain model folder straight into 4-bit ({@code from_pretrained(load_in_4bit=True)}),
     * streaming: each weight that becomes 4-bit is read from its shard with file reads, widened
     * to F32 and quantized on its own, so neither the wide model nor the file's mapped pages are
     * ever resident; peak memory is the 4-bit model plus one tensor. The layers chosen, and their
     * bytes, are exactly those of {@link #quantize(CausalLM, BitsAndBytesConfig)} on the fully
     * loaded model. Weights that stay wide are frozen at {@code frozenDtype} (null: as stored),
     * vectors F32; see {@link CausalLM#loadFrozen}. {@code progress} hears (layers done, layers in all).
     *
     * <pre>{@code
     * CausalLM base = QuantizedModels.loadIn4bit(Path.of("llama-7b"), BitsAndBytesConfig.qlora(), null, (d, n) -> { });
     * }</pre>
     */
    public static CausalLM loadIn4bit(Path dir, BitsAndBytesConfig config, DType frozenDtype,
                                      java.util.function.BiConsumer<Integer, Integer> progress) {
        return loadIn4bit(dir, config, frozenDtype, Device.CPU, progress);
    }

    /**
     * As {@link #loadIn4bit(Path, BitsAndBytesConfig, DType, java.util.function.BiConsumer)}, straight
     * onto {@code device}: each weight that becomes 4-bit is read on the host (one tensor), moved
     * there and quantized by its backend ({@code Backend.quantize4bit}, the CPU's bytes); the
     * others go through {@link CausalLM#loadFrozen(Path, DType, CausalLM.WeightInterceptor, Device)}.
     */
    public static CausalLM loadIn4bit(Path dir, BitsAndBytesConfig config, DType frozenDtype, Device device,
                                      java.util.function.BiConsumer<Integer, Integer> progress) {
        if (isQuantized(dir)) {
            throw new TesseraException(dir + ": already quantized (config.json has a quantization_config); load it with load()");
        }
        ModelConfig modelConfig = ModelConfig.read(dir.resolve("config.json"));
        Map<String, Boolean> targets = quantizationTargets(modelConfig, config);
        Set<String> withBias = new HashSet<>();
        CausalLM skeleton = CausalLM.create(modelConfig, (name, shape, init) -> broadcastZero(shape));
        try {
            skeleton.namedParameters().keySet().forEach(n -> {
                if (n.endsWith(".bias") && targets.containsKey(n.substring(0, n.length() - 5) + ".weight")) {
                    withBias.add(n.substring(0, n.length() - 5));
                }
            });
        } finally {
            skeleton.release();
        }
        // Each layer's packed bytes go off-heap as soon as it is quantized (a layer with a bias
        // waits for its bias, read next), so the heap never holds more than one layer.
        Map<String, Linear4bit> layers = new LinkedHashMap<>();
        // a quantized layer waiting for its bias: given the bias, the layer
        Map<String, java.util.function.Function<Tensor, Linear4bit>> waitingForBias = new HashMap<>();
        List<Tensor> standIns = new ArrayList<>();
        CausalLM model;
        try {
            model = CausalLM.loadFrozen(dir, frozenDtype, (name, shape, read) -> {
                String module = name.substring(0, Math.max(0, name.lastIndexOf('.')));
                var waiting = name.endsWith(".bias") ? waitingForBias.remove(module) : null;
                if (waiting != null) {
                    Tensor bias = Scope.unowned(read::get); // F32, as quantize() keeps biases
                    Linear4bit layer = waiting.apply(bias);
                    layers.put(module, layer);
                    if (layer.bias() != bias) {
                        bias.release();   // the layer keeps its copy on the device
                    }
                    return layer.bias();
                }
                Boolean transposed = targets.get(name);
                if (transposed == null) {
                    return null;
                }
                java.util.function.Function<Tensor, Linear4bit> make;
                try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
                    Tensor wide = read.get().to(device); // F32, the only copy (on the host, then the device's)
                    // Conv1D stores [in, out]; 4-bit weights are [out, in]
                    Tensor w = transposed ? wide.t().contiguous() : wide;
                    long[] outIn = {w.size(0), w.size(1)};
                    if (device.isCpu()) {
                        Quantized4Bit q = Quantized4Bit.quantize(w.dataSegment(), outIn, config.quantType(),
                                config.blocksize(), config.doubleQuant());
                        make = bias -> new Linear4bit(q, bias, config.computeDtype());
                    } else {
                        BackendQuantize4Bit.Result r = BackendQuantize4Bit.quantize(w, outIn, config.quantType(),
                                config.blocksize(), config.doubleQuant());
                        make = bias -> new Linear4bit(r.packed(), r.state(), bias, config.computeDtype());
                    }
                }
                if (withBias.contains(module)) {
                    waitingForBias.put(module, make);
                } else {
                    layers.put(module, make.apply(null));
                }
                progress.accept(layers.size() + waitingForBias.size(), targets.size());
                Tensor stand = broadcastZero(shape);
                standIns.add(stand);
                return stand;
            }, device);
        } catch (RuntimeException | Error e) {
            standIns.forEach(Tensor::release);
            layers.values().forEach(Linear4bit::release);
            throw e;
        }
        if (!waitingForBias.isEmpty()) {
            throw new IllegalStateException("4-bit layers never got their bias: " + waitingForBias.keySet());
        }
        layers.forEach(model::setSubmodule);
        standIns.forEach(Tensor::release);
        return model;
    }

    /**
     * The weights {@link #quantize(CausalLM, BitsAndBytesConfig)} would make 4-bit in a model of
     * {@code config}, by parameter name, true where stored transposed (Conv1D); found on a
     * skeleton whose parameters are broadcast zeros, so nothing of the model's size is allocated.
     */
    private static Map<String, Boolean> quantizationTargets(ModelConfig modelConfig, BitsAndBytesConfig config) {
        CausalLM skeleton = CausalLM.create(modelConfig, (name, shape, init) -> broadcastZero(shape));
        try {
            Map<String, Boolean> targets = new LinkedHashMap<>();
            layersToQuantize(skeleton, config).forEach((name, m) -> targets.put(name + ".weight", m instanceof Conv1D));
            return targets;
        } finally {
            skeleton.release();
        }
    }

    /**
     * The linear layers {@code load_in_4bit} turns to 4 bits, by name in model order: every
     * {@link Linear} and {@link Conv1D} but those the config skips (by default the output head)
     * and those whose weight is tied to another parameter.
     */
    private static Map<String, Module> layersToQuantize(CausalLM model, BitsAndBytesConfig config) {
        Map<String, Module> modules = model.namedModules();
        String head = nameOf(model, (Module) model.lmHead());
        List<String> skip = config.skipModules() != null ? config.skipModules() : head == null ? List.of() : List.of(head);
        Set<Tensor> tied = tiedWeights(modules);
        Map<String, Module> out = new LinkedHashMap<>();
        modules.forEach((name, m) -> {
            if (isLinear(m) && !skipped(name, skip) && !tied.contains(m.localParameter("weight"))) {
                out.put(name, m);
            }
        });
        return out;
    }

    static boolean isLinear(Module m) {
        return m instanceof Linear || m instanceof Conv1D;
    }

    /** One zero broadcast to {@code shape} (unowned): stands in for a weight without its memory. */
    static Tensor broadcastZero(int[] shape) {
        int[] ones = new int[shape.length];
        Arrays.fill(ones, 1);
        return Scope.unowned(() -> Tensor.zeros(ones).expand(shape));
    }

    /** transformers' should_convert_module: a pattern matches as a regex at the start of the name, or as its suffix. */
    static boolean skipped(String name, List<String> patterns) {
        for (String p : patterns) {
            if (name.endsWith(p)) {
                return true;
            }
            try {
                if (Pattern.compile(p).matcher(name).lookingAt()) {
                    return true;
                }
            } catch (PatternSyntaxException e) {
                if (name.startsWith(p)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Set<Tensor> tiedWeights(Map<String, Module> modules) {
        Map<Tensor, Integer> uses = new IdentityHashMap<>();
        for (Module m : modules.values()) {
            Tensor w = m.localParameter("weight");
            if (w != null) {
                uses.merge(w, 1, Integer::sum);
            }
        }
        Set<Tensor> tied = Collections.newSetFromMap(new IdentityHashMap<>());
        uses.forEach((t, n) -> {
            if (n > 1) {
                tied.add(t);
            }
        });
        return tied;
    }

    private static String nameOf(Module root, Module target) {
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            if (e.getValue() == target) {
                return e.getKey();
            }
        }
        return null;
    }

    private static Set<Tensor> identitySet(Iterable<Tensor> tensors) {
        Set<Tensor> s = Collections.newSetFromMap(new IdentityHashMap<>());
        tensors.forEach(s::add);
        return s;
    }

    /** The 4-bit layers of {@code model} by module name, in model order. */
    public static Map<String, Linear4bit> quantizedLayers(Module model) {
        Map<String, Linear4bit> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof Linear4bit q) {
                out.put(e.getKey(), q);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- folders

    /**
     * Quantizes the model folder {@code modelDir} into {@code outDir} (the {@code quantize}
     * command): blocks of {@code blocksize}, F32 compute dtype recorded, the output head kept in
     * F32. Tokenizer files and generation_config.json are copied along.
     */
    public static void quantize(Path modelDir, Path outDir, QuantType type, int blocksize, boolean doubleQuant) {
        quantizeFolder(modelDir, outDir, new BitsAndBytesConfig(type, blocksize, doubleQuant, DType.F32, null));
    }

    /** As {@link #quantize(Path, Path, QuantType, int, boolean)} with a full config. */
    public static void quantize(Path modelDir, Path outDir, BitsAndBytesConfig config) {
        quantizeFolder(modelDir, outDir, config);
    }

    /** The linear layers a folder quantization turned to 4 bits, and those it kept (the output head, tied weights). */
    public record FolderSummary(List<String> quantized, List<String> kept) {}

    /** As {@link #quantize(Path, Path, BitsAndBytesConfig)}, saying which layers were quantized and which kept. */
    public static FolderSummary quantizeFolder(Path modelDir, Path outDir, BitsAndBytesConfig config) {
        return quantizeFolder(modelDir, outDir, config, Device.CPU);
    }

    /**
     * As {@link #quantizeFolder(Path, Path, BitsAndBytesConfig)}, computing on {@code device}: each
     * weight goes there as it is read and is quantized by its backend ({@code Backend.quantize4bit});
     * only the codes and block statistics come back to be written. The files are byte for byte
     * those quantized on the CPU.
     */
    public static FolderSummary quantizeFolder(Path modelDir, Path outDir, BitsAndBytesConfig config, Device device) {
        if (isQuantized(modelDir)) {
            throw new TesseraException(modelDir + ": already quantized (config.json has a quantization_config)");
        }
        if (outDir.toAbsolutePath().normalize().equals(modelDir.toAbsolutePath().normalize())) {
            throw new TesseraException(outDir + ": the output folder must differ from the model folder");
        }
        int[] lastTenth = {-1};
        FolderSummary summary = quantizeStreaming(modelDir, outDir, config, device, (done, total) -> {
            int tenth = done * 10 / Math.max(1, total);
            if (tenth != lastTenth[0] || done.equals(total)) {
                lastTenth[0] = tenth;
                System.err.printf("quantize: %d/%d linear layers%n", done, total);
            }
        });
        for (String name : COMPANION_FILES) {
            Path src = modelDir.resolve(name);
            if (Files.isRegularFile(src)) {
                AtomicFiles.copy(src, outDir.resolve(name));
            }
        }
        return summary;
    }

    /**
     * The folder written tensor by tensor: each weight is read (file reads, widened to F32),
     * quantized or kept F32, and its bytes go straight to disk through a {@link WeightFolderWriter};
     * the model is only ever built from stand-ins. Peak memory is one tensor in F32, and the files
     * are byte for byte those of {@link #save(CausalLM, Path, BitsAndBytesConfig)} after
     * {@link #quantize(CausalLM, BitsAndBytesConfig)} on the fully loaded model.
     */
    private static FolderSummary quantizeStreaming(Path modelDir, Path outDir, BitsAndBytesConfig config, Device device,
                                                   java.util.function.BiConsumer<Integer, Integer> progress) {
        Map<String, Boolean> targets = quantizationTargets(ModelConfig.read(modelDir.resolve("config.json")), config);
        Map<String, List<String>> stateNames = new LinkedHashMap<>(); // module -> its quant-state tensor names
        CausalLM skeleton;
        try (WeightFolderWriter writer = WeightFolderWriter.open(outDir)) {
            skeleton = CausalLM.loadFrozen(modelDir, DType.F32, (name, shape, read) -> {
                try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
                    Tensor wide = read.get(); // F32: what save() writes for every tensor that stays wide
                    Boolean transposed = targets.get(name);
                    if (transposed == null) {
                        writer.add(name, wide);
                    } else {
                        Tensor on = wide.to(device);
                        Tensor w = transposed ? on.t().contiguous() : on;
                        long[] shape2 = {w.size(0), w.size(1)};
                        Quantized4Bit q = device.isCpu()
                                ? Quantized4Bit.quantize(w.dataSegment(), shape2, config.quantType(), config.blocksize(),
                                        config.doubleQuant())
                                : BackendQuantize4Bit.quantize(w, shape2, config.quantType(), config.blocksize(),
                                        config.doubleQuant()).toHost();
                        byte[] packed = q.packed();
                        writer.add(name, Tensor.fromBytes(DType.U8, new int[] {packed.length, 1}, MemorySegment.ofArray(packed)));
                        Map<String, Tensor> state = new LinkedHashMap<>();
                        putQuantState(state, name, q.state());
                        state.forEach(writer::add);
                        stateNames.put(name.substring(0, name.length() - ".weight".length()), List.copyOf(state.keySet()));
                        progress.accept(stateNames.size(), targets.size());
                    }
                }
                return broadcastZero(shape);
            });
            try {
                // bitsandbytes' state-dict order, as write(): weight, bias, then the quant state
                List<String> order = new ArrayList<>();
                for (String name : skeleton.namedParameters().keySet()) {
                    order.add(name);
                    int dot = name.lastIndexOf('.');
                    String module = name.substring(0, dot);
                    List<String> state = stateNames.get(module);
                    boolean hasBias = skeleton.namedParameters().containsKey(module + ".bias");
                    if (state != null && (name.endsWith(".bias") || !hasBias)) {
                        order.addAll(state);
                    }
                }
                writer.finish(order);
                writeConfig(outDir, skeleton.config(), config.toJson());
                List<String> kept = new ArrayList<>();
                for (Map.Entry<String, Module> e : skeleton.namedModules().entrySet()) {
                    if (isLinear(e.getValue()) && !stateNames.containsKey(e.getKey())) {
                        kept.add(e.getKey());
                    }
                }
                return new FolderSummary(List.copyOf(stateNames.keySet()), List.copyOf(kept));
            } finally {
                skeleton.release();
            }
        }
    }

    /** Whether {@code dir}'s config.json carries a {@code quantization_config}. */
    public static boolean isQuantized(Path dir) {
        return quantizationConfig(ModelConfig.read(dir.resolve("config.json"))) != null;
    }

    /**
     * Loads a model folder: a quantized one (config.json has a bitsandbytes
     * {@code quantization_config}) with {@link Linear4bit} layers where the checkpoint holds 4-bit
     * weights, any other with {@link CausalLM#load(Path)}. All problems (missing, unexpected,
     * mis-shaped tensors, bad quant states) are reported together, naming the folder and tensor.
     */
    public static CausalLM load(Path dir) {
        return QuantizedFolderReader.load(dir);
    }

    /**
     * Saves a quantized model into {@code dir} in transformers' bitsandbytes layout (see the
     * class comment), its {@code quantization_config} the one the model was loaded with, or
     * else described from its 4-bit layers (skip list null). Files are written atomically.
     */
    public static void save(CausalLM model, Path dir) {
        Map<String, Linear4bit> layers = requireLayers(model);
        BitsAndBytesConfig described = describe(layers, null);
        JsonNode loaded = quantizationConfig(model.config());
        if (loaded != null) {
            BitsAndBytesConfig c = BitsAndBytesConfig.fromJson(loaded, model.config().source());
            if (c.quantType() == described.quantType() && c.doubleQuant() == described.doubleQuant()
                    && c.computeDtype() == described.computeDtype()) {
                write(model, dir, layers, loaded);
                return;
            }
        }
        write(model, dir, layers, described.toJson());
    }

    /**
     * As {@link #save(CausalLM, Path)}, writing {@code config} as the quantization_config; its
     * type, double quantization and compute dtype must be those of the model's 4-bit layers.
     */
    public static void save(CausalLM model, Path dir, BitsAndBytesConfig config) {
        Map<String, Linear4bit> layers = requireLayers(model);
        describe(layers, config);
        write(model, dir, layers, config.toJson());
    }

    private static Map<String, Linear4bit> requireLayers(CausalLM model) {
        Map<String, Linear4bit> layers = quantizedLayers(model);
        if (layers.isEmpty()) {
            throw new TesseraException("the model has no 4-bit layers to save in bitsandbytes format; use CausalLM.save");
        }
        return layers;
    }

    /** The config the layers agree on; each must match {@code expected} when given. */
    private static BitsAndBytesConfig describe(Map<String, Linear4bit> layers, BitsAndBytesConfig expected) {
        BitsAndBytesConfig first = null;
        for (Map.Entry<String, Linear4bit> e : layers.entrySet()) {
            QuantState s = e.getValue().quantState();
            BitsAndBytesConfig c = new BitsAndBytesConfig(s.type(), s.blocksize(), s.doubleQuant() != null,
                    e.getValue().computeDtype(), null);
            BitsAndBytesConfig want = expected != null ? expected : first;
            if (want != null && (c.quantType() != want.quantType() || c.doubleQuant() != want.doubleQuant()
                    || c.computeDtype() != want.computeDtype())) {
                throw new TesseraException(e.getKey() + ": 4-bit layer is " + c.quantType().bnbName() + ", double quant "
                        + c.doubleQuant() + ", compute " + c.computeDtypeName() + " but the quantization_config says "
                        + want.quantType().bnbName() + ", double quant " + want.doubleQuant() + ", compute "
                        + want.computeDtypeName() + " (one config.json cannot describe both)");
            }
            if (first == null) {
                first = c;
            }
        }
        return first;
    }

    private static void write(CausalLM model, Path dir, Map<String, Linear4bit> layers, JsonNode quantizationConfig) {
        Map<Tensor, Linear4bit> byPacked = new IdentityHashMap<>();
        Map<Tensor, Linear4bit> byBias = new IdentityHashMap<>();
        Map<Linear4bit, String> names = new IdentityHashMap<>();
        layers.forEach((name, layer) -> {
            byPacked.put(layer.packedWeight(), layer);
            if (layer.bias() != null) {
                byBias.put(layer.bias(), layer);
            }
            names.put(layer, name);
        });
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            // bitsandbytes' state-dict order: weight, bias, then the quant state.
            Map<String, Tensor> state = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                Tensor t = e.getValue();
                Linear4bit packedOf = byPacked.get(t);
                Linear4bit biasOf = byBias.get(t);
                boolean floating16 = t.dtype() == DType.BF16 || t.dtype() == DType.F16;
                state.put(e.getKey(), floating16 ? t.cast(DType.F32) : t);
                Linear4bit done = packedOf != null && packedOf.bias() == null ? packedOf : biasOf;
                if (done != null) {
                    putQuantState(state, names.get(done) + ".weight", done.quantState());
                }
            }
            WeightFolders.saveStateDict(dir, state);
        }
        writeConfig(dir, model.config(), quantizationConfig);
    }

    /** {@code config.json}: the model's config with {@code quantization_config} added, as transformers writes it. */
    private static void writeConfig(Path dir, ModelConfig config, JsonNode quantizationConfig) {
        ObjectNode json = config.toJsonTree();
        json.set("quantization_config", quantizationConfig);
        AtomicFiles.writeString(dir.resolve("config.json"), PythonJson.dumps(json) + "\n");
    }

    private static void putQuantState(Map<String, Tensor> state, String weightKey, QuantState s) {
        for (Map.Entry<String, StoredTensor> e : s.toTensors(weightKey).entrySet()) {
            StoredTensor t = e.getValue();
            int[] shape = Arrays.stream(t.shape()).mapToInt(Math::toIntExact).toArray();
            DType dtype = t.dtype().equals("U8") ? DType.U8 : DType.F32;
            state.put(e.getKey(), Tensor.fromBytes(dtype, shape, MemorySegment.ofArray(t.data())));
        }
    }

    /** The {@code quantization_config} object of a config, or null. */
    static JsonNode quantizationConfig(ModelConfig config) {
        JsonNode qc = config.toJsonTree().get("quantization_config");
        return qc == null || qc.isNull() ? null : qc;
    }
}
