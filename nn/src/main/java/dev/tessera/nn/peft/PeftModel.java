package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.KvCache;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.io.PythonJson;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A causal language model with PEFT adapters: PEFT's {@code get_peft_model} /
 * {@code PeftModel} for LoRA, IA3, prefix tuning, prompt tuning and Houlsby bottleneck adapters.
 * The base model is frozen; only adapter parameters (plus {@code modules_to_save} and biases
 * per LoRA's {@code bias}) require gradients. Adapter folders are read and written in PEFT's
 * format, so they move between Tessera and Python both ways.
 *
 * <pre>{@code
 * CausalLM base = CausalLM.load(Path.of("models/gpt2"));
 * PeftModel peft = PeftModel.of(base, LoraConfig.defaults().withR(8).withLoraAlpha(16));
 * peft.printTrainableParameters();   // trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364
 * Tensor loss = peft.loss(ids, labels);
 * loss.backward();                   // gradients reach lora_A / lora_B only
 * peft.save(Path.of("out/adapter")); // adapter_config.json + adapter_model.safetensors + README.md
 *
 * PeftModel again = PeftModel.load(CausalLM.load(Path.of("models/gpt2")), Path.of("out/adapter"));
 * CausalLM merged = again.mergeAndUnload();   // plain model with W + scaling·B·A
 * merged.save(Path.of("out/merged"));
 * }</pre>
 *
 * Several adapters can live on one model ({@link #addAdapter}, {@link #loadAdapter}); one is
 * active at a time ({@link #setAdapter}), {@link #disableAdapter} runs the base model, and
 * {@link #deleteAdapter} removes one. Parameter names are PEFT's
 * ({@code base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight},
 * {@code prompt_encoder.default.embedding.weight}).
 */
public final class PeftModel extends Module {
    private static final Set<String> EMBEDDING_LAYER_NAMES = Set.of("embed_tokens", "lm_head");

    private final CausalLM model;
    private final Map<String, PeftConfig> configs = new LinkedHashMap<>();
    private final Map<String, List<ModulesToSave>> modulesToSave = new LinkedHashMap<>();
    private String active;
    private boolean disabled;
    private boolean unloaded;

    /** PEFT's {@code LoraModel} / {@code BaseTuner}: holds the model as child {@code model}. */
    static final class BaseModel extends Module {
        BaseModel(CausalLM model) {
            addModule("model", model);
        }
    }

    private PeftModel(CausalLM model) {
        this.model = model;
        addModule("base_model", new BaseModel(model));
        addModule("prompt_encoder", new AdapterDict());
        model.requiresGrad(false);
    }

    // ---------------------------------------------------------------- construction

    /** PEFT's {@code get_peft_model}: adds adapter "default" per {@code config} and activates it. */
    public static PeftModel of(CausalLM model, PeftConfig config) {
        return of(model, config, "default");
    }

    /** As {@link #of(CausalLM, PeftConfig)} with the adapter named {@code adapterName}. */
    public static PeftModel of(CausalLM model, PeftConfig config, String adapterName) {
        PeftModel peft = new PeftModel(model);
        peft.addAdapter(adapterName, config);
        peft.setAdapter(adapterName);
        return peft;
    }

    /** PEFT's {@code PeftModel.from_pretrained} for inference: the adapter in {@code dir} as "default", frozen. */
    public static PeftModel load(CausalLM model, Path dir) {
        return load(model, dir, false);
    }

    /** Loads the adapter folder {@code dir} as "default"; trainable or frozen (inference). */
    public static PeftModel load(CausalLM model, Path dir, boolean trainable) {
        PeftModel peft = new PeftModel(model);
        peft.loadAdapter(dir, "default", trainable);
        peft.setAdapter("default");
        return peft;
    }

    /** Adds adapter {@code name} (not activated unless it is the first). */
    public void addAdapter(String name, PeftConfig config) {
        checkUsable();
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new TesseraException("adapter names must be non-empty and contain no '.', got '" + name + "'");
        }
        if (configs.containsKey(name)) {
            throw new TesseraException("adapter '" + name + "' already exists (adapters: " + configs.keySet() + ")");
        }
        boolean promptLearning = config instanceof PrefixTuningConfig || config instanceof PromptTuningConfig;
        if (promptLearning && !configs.isEmpty()) {
            throw new TesseraException(config.peftType() + ": prompt-learning adapters cannot share a model with other adapters (as in PEFT)");
        }
        if (!promptLearning && configs.values().stream().anyMatch(c -> c instanceof PrefixTuningConfig || c instanceof PromptTuningConfig)) {
            throw new TesseraException(config.peftType() + ": this model carries a prompt-learning adapter; it cannot take another");
        }
        ModelConfig mc = model.config();
        if (config.baseModelNameOrPath() == null) {
            config = withBaseModel(config, defaultBaseName(mc));
        }
        PeftConfig effective = switch (config) {
            case LoraConfig c -> injectLora(name, c);
            case Ia3Config c -> injectIa3(name, c);
            case BottleneckAdapterConfig c -> injectBottleneck(name, c);
            case PrefixTuningConfig c -> {
                int hidden = c.encoderHiddenSize() == 0 ? mc.numKvHeads() * mc.headDim() : c.encoderHiddenSize();
                prompts().putModule(name, new PrefixEncoder(c.numVirtualTokens(), mc.numLayers(), mc.numKvHeads(), mc.headDim(),
                        c.prefixProjection() && !c.inferenceMode(), hidden, model.dropoutRng()));
                yield c;
            }
            case PromptTuningConfig c -> {
                PromptEmbedding e = new PromptEmbedding(c.numVirtualTokens(), mc.hiddenSize(), model.dropoutRng());
                if (!c.inferenceMode() && c.promptTuningInit() == PromptTuningConfig.Init.TEXT) {
                    e.initFrom(model.inputEmbeddings().weight(), c.initTokenIds());
                } else if (!c.inferenceMode() && c.promptTuningInit() == PromptTuningConfig.Init.SAMPLE_VOCAB) {
                    e.initFromVocabulary(model.inputEmbeddings().weight(), model.dropoutRng());
                }
                prompts().putModule(name, e);
                yield c;
            }
        };
        configs.put(name, effective);
        if (active == null) {
            setAdapter(name);
        } else {
            updateTrainable();
        }
    }

    private static String defaultBaseName(ModelConfig mc) {
        Path p = Path.of(mc.source());
        Path dir = p.getFileName() != null && p.getFileName().toString().equals("config.json") ? p.getParent() : p;
        return dir == null ? null : dir.toString();
    }

    private static PeftConfig withBaseModel(PeftConfig c, String base) {
        return switch (c) {
            case LoraConfig x -> x.withBaseModelNameOrPath(base);
            case Ia3Config x -> x.withBaseModelNameOrPath(base);
            case PrefixTuningConfig x -> x.withBaseModelNameOrPath(base);
            case PromptTuningConfig x -> x.withBaseModelNameOrPath(base);
            case BottleneckAdapterConfig x -> x.withBaseModelNameOrPath(base);
        };
    }

    private LoraConfig injectLora(String name, LoraConfig c) {
        TargetModules targets = c.targetModules() != null ? c.targetModules() : Targets.loraDefault(model.config());
        List<String> paths = Targets.select(model, new Targets.Rule(targets, c.excludeModules(), c.layersToTransform(), c.layersPattern(),
                c.modulesToSave()), "LoRA");
        boolean conv1d = false;
        for (String path : paths) {
            LoraLinear lora = wrap(path, LoraLinear.class, LoraLinear::new);
            conv1d |= lora.baseLayer() instanceof dev.tessera.nn.Conv1D;
            lora.addAdapter(name, c.rankFor(path), c.alphaFor(path), c.loraDropout(), c.useRslora(), c.initLoraWeights(), model.dropoutRng());
        }
        addModulesToSave(name, c.modulesToSave());
        // PEFT forces fan_in_fan_out for Conv1D (and off for nn.Linear) and records it in the config
        return c.withTargetModules(targets instanceof TargetModules.AllLinear ? TargetModules.of(paths) : targets).withFanInFanOut(conv1d);
    }

    private Ia3Config injectIa3(String name, Ia3Config c) {
        TargetModules targets = c.targetModules() != null ? c.targetModules() : Targets.ia3Default(model.config());
        TargetModules ff = c.feedforwardModules() != null ? c.feedforwardModules() : Targets.ia3FeedforwardDefault(model.config());
        if (ff instanceof TargetModules.Names f && targets instanceof TargetModules.Names t && !t.names().containsAll(f.names())) {
            throw new TesseraException("IA3: feedforward_modules " + f.names() + " must be a subset of target_modules " + t.names());
        }
        List<String> paths = Targets.select(model, new Targets.Rule(targets, c.excludeModules(), null, null, c.modulesToSave()), "IA3");
        boolean conv1d = false;
        for (String path : paths) {
            boolean feedforward = Targets.isFeedforward(ff, path);
            Ia3Linear ia3 = wrap(path, Ia3Linear.class, base -> new Ia3Linear(base, feedforward));
            if (ia3.isFeedforward() != feedforward) {
                throw new TesseraException("IA3: " + path + " is already a " + (ia3.isFeedforward() ? "feed-forward" : "non-feed-forward")
                        + " target of another adapter");
            }
            conv1d |= ia3.baseLayer() instanceof dev.tessera.nn.Conv1D;
            ia3.addAdapter(name, c.initIa3Weights(), model.dropoutRng());
        }
        addModulesToSave(name, c.modulesToSave());
        return new Ia3Config(targets instanceof TargetModules.AllLinear ? TargetModules.of(paths) : targets, ff, c.excludeModules(), conv1d,
                c.modulesToSave(), c.initIa3Weights(), c.baseModelNameOrPath(), c.inferenceMode());
    }

    private BottleneckAdapterConfig injectBottleneck(String name, BottleneckAdapterConfig c) {
        TargetModules targets = c.targetModules() != null ? c.targetModules() : Targets.bottleneckDefault(model.config());
        List<String> paths = Targets.select(model, new Targets.Rule(targets, null, null, null, null), "bottleneck adapter");
        for (String path : paths) {
            wrap(path, BottleneckLinear.class, BottleneckLinear::new).addAdapter(name, c.reductionFactor(), BottleneckAdapterConfig.activation(c.nonLinearity()),
                    model.dropoutRng());
        }
        return c.withTargetModules(targets);
    }

    /** The wrapper of {@code type} at {@code path}, made around the linear layer there when it is not one yet. */
    private <T extends TunerLayer> T wrap(String path, Class<T> type, java.util.function.Function<LinearLayer, T> make) {
        Module m = model.getSubmodule(path);
        if (type.isInstance(m)) {
            return type.cast(m);
        }
        if (m instanceof TunerLayer other) {
            throw new TesseraException(path + " already carries a " + other.getClass().getSimpleName()
                    + " adapter; one adapter method per layer");
        }
        T wrapper = make.apply((LinearLayer) m);
        model.setSubmodule(path, (Module) wrapper);
        return wrapper;
    }

    private void addModulesToSave(String adapter, List<String> names) {
        List<ModulesToSave> list = new ArrayList<>();
        for (String path : Targets.modulesToSave(model, names)) {
            for (List<ModulesToSave> other : modulesToSave.values()) {
                if (other.stream().anyMatch(m -> m.path().equals(path))) {
                    throw new TesseraException("modules_to_save: " + path + " is already saved with another adapter");
                }
            }
            list.add(new ModulesToSave(model, path));
        }
        modulesToSave.put(adapter, list);
    }

    // ---------------------------------------------------------------- adapters

    /** The model the adapters are injected into (its layers are the wrapped ones). */
    public CausalLM baseModel() {
        return model;
    }

    /** Adapter names in the order they were added. */
    public List<String> adapterNames() {
        return List.copyOf(configs.keySet());
    }

    /** The active adapter, or null. */
    public String activeAdapter() {
        return active;
    }

    /** The config of {@code adapter} as in effect (default targets resolved, fan_in_fan_out as set for Conv1D). */
    public PeftConfig config(String adapter) {
        return requireAdapter(adapter);
    }

    private PeftConfig requireAdapter(String adapter) {
        PeftConfig c = configs.get(adapter);
        if (c == null) {
            throw new TesseraException("no adapter '" + adapter + "' (adapters: " + configs.keySet() + ")");
        }
        return c;
    }

    /** Makes {@code adapter} the one forward uses and the one that trains (others are frozen). */
    public void setAdapter(String adapter) {
        checkUsable();
        requireAdapter(adapter);
        active = adapter;
        for (TunerLayer t : tunerLayers().values()) {
            t.setActiveAdapter(adapter);
        }
        updateTrainable();
    }

    /** Runs the base model (the adapters' effect removed, merged ones unmerged) until the result is closed. */
    public Disabled disableAdapter() {
        setAdaptersEnabled(false);
        return new Disabled(this);
    }

    /** Re-enables the adapters when closed: {@code try (var off = peft.disableAdapter()) { ... }}. */
    public record Disabled(PeftModel peft) implements AutoCloseable {
        @Override
        public void close() {
            peft.setAdaptersEnabled(true);
        }
    }

    /** Turns every adapter off (base model outputs) or back on. */
    public void setAdaptersEnabled(boolean enabled) {
        checkUsable();
        disabled = !enabled;
        for (TunerLayer t : tunerLayers().values()) {
            t.setAdaptersDisabled(disabled);
        }
        for (ModulesToSave m : activeModulesToSave()) {
            m.useOriginal(disabled);
        }
    }

    private List<ModulesToSave> activeModulesToSave() {
        return active == null ? List.of() : modulesToSave.getOrDefault(active, List.of());
    }

    /** Removes {@code adapter}, frees its tensors and unwraps layers left without adapters. */
    public void deleteAdapter(String adapter) {
        checkUsable();
        requireAdapter(adapter);
        for (var e : tunerLayers().entrySet()) {
            TunerLayer t = e.getValue();
            if (t.adapterNames().contains(adapter)) {
                t.deleteAdapter(adapter);
            }
            if (t.adapterNames().isEmpty()) {
                model.setSubmodule(e.getKey(), t.baseModule());
            }
        }
        if (prompts().contains(adapter)) {
            List<Tensor> freed = List.copyOf(prompts().module(adapter, Module.class).namedParameters().values());
            setSubmodule("prompt_encoder", prompts().without(adapter));
            freed.forEach(Tensor::release);
        }
        for (ModulesToSave m : modulesToSave.getOrDefault(adapter, List.of())) {
            m.restore();
        }
        modulesToSave.remove(adapter);
        configs.remove(adapter);
        if (adapter.equals(active)) {
            active = null;
            if (!configs.isEmpty()) {
                setAdapter(configs.keySet().iterator().next());
            }
        }
        updateTrainable();
    }

    /** Adapter wrappers by module path (relative to the base model). */
    private Map<String, TunerLayer> tunerLayers() {
        Map<String, TunerLayer> out = new LinkedHashMap<>();
        for (var e : Targets.candidates(model).entrySet()) {
            if (e.getValue() instanceof TunerLayer t) {
                out.put(e.getKey(), t);
            }
        }
        return out;
    }

    private AdapterDict prompts() {
        return child("prompt_encoder", AdapterDict.class);
    }

    /** Base frozen; the active adapter's tensors (and its modules_to_save, and biases per LoRA's bias) trainable unless in inference mode. */
    private void updateTrainable() {
        model.requiresGrad(false);
        for (var e : configs.entrySet()) {
            boolean train = e.getKey().equals(active) && !e.getValue().inferenceMode();
            for (Tensor t : adapterParameters(e.getKey())) {
                t.requiresGrad(train);
            }
            for (ModulesToSave m : modulesToSave.getOrDefault(e.getKey(), List.of())) {
                m.setTrainable(train);
            }
            if (train && e.getValue() instanceof LoraConfig lc) {
                for (Tensor b : loraBiases(e.getKey(), lc).values()) {
                    b.requiresGrad(true);
                }
            }
        }
    }

    /** The adapter's own parameters (not modules_to_save nor biases). */
    private List<Tensor> adapterParameters(String adapter) {
        List<Tensor> out = new ArrayList<>();
        for (TunerLayer t : tunerLayers().values()) {
            if (t.adapterNames().contains(adapter)) {
                out.addAll(t.adapterTensors(adapter).values());
            }
        }
        if (prompts().contains(adapter)) {
            out.addAll(prompts().module(adapter, Module.class).namedParameters().values());
        }
        return out;
    }

    /** Biases LoRA's {@code bias} option trains, by their model names. */
    private Map<String, Tensor> loraBiases(String adapter, LoraConfig c) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        switch (c.bias()) {
            case NONE -> {}
            case ALL -> model.namedParameters().forEach((k, v) -> {
                if (k.contains("bias") && !k.contains(".adapter_down.") && !k.contains(".adapter_up.")) {
                    out.put(k, v);
                }
            });
            case LORA_ONLY -> tunerLayers().forEach((path, t) -> {
                if (t instanceof LoraLinear && t.adapterNames().contains(adapter) && t.bias() != null) {
                    out.put(path + ".base_layer.bias", t.bias());
                }
            });
        }
        return out;
    }

    // ---------------------------------------------------------------- merging

    /** Folds the active adapter into the base weights (LoRA: {@code W += scaling·B·A}; IA3: {@code W *= l}). */
    public void merge() {
        checkUsable();
        PeftConfig c = requireAdapter(activeOrThrow());
        if (c instanceof PrefixTuningConfig || c instanceof PromptTuningConfig) {
            throw new TesseraException(c.peftType() + " adapters have no weights to merge");
        }
        for (TunerLayer t : tunerLayers().values()) {
            if (t.adapterNames().contains(active)) {
                t.mergeAdapter(active);
            }
        }
    }

    /** Takes merged adapters back out of the base weights. */
    public void unmerge() {
        checkUsable();
        for (TunerLayer t : tunerLayers().values()) {
            t.unmergeAll();
        }
    }

    /**
     * PEFT's {@code merge_and_unload}: merges the active adapter, puts the base layers back in
     * place of the wrappers (keeping trained modules_to_save) and returns the plain model, which
     * saves as an ordinary Hugging Face checkpoint. This PeftModel is unusable afterwards.
     */
    public CausalLM mergeAndUnload() {
        merge();
        return unwrap(true);
    }

    /** PEFT's {@code unload}: the base model back as it was (merged adapters taken out), adapters freed. */
    public CausalLM unload() {
        checkUsable();
        unmerge();
        return unwrap(false);
    }

    private String activeOrThrow() {
        if (active == null) {
            throw new TesseraException("no active adapter");
        }
        return active;
    }

    private CausalLM unwrap(boolean keepMerged) {
        setAdaptersEnabled(true);
        for (var e : tunerLayers().entrySet()) {
            TunerLayer t = e.getValue();
            List<Tensor> freed = new ArrayList<>();
            for (String a : t.adapterNames()) {
                freed.addAll(t.adapterTensors(a).values());
            }
            model.setSubmodule(e.getKey(), t.baseModule());
            for (Tensor x : freed) {
                x.zeroGrad();
                x.release();
            }
        }
        for (List<ModulesToSave> list : modulesToSave.values()) {
            for (ModulesToSave m : list) {
                if (keepMerged) {
                    m.finish();
                } else {
                    m.restore();
                }
            }
        }
        for (String a : prompts().names()) {
            prompts().module(a, Module.class).release();
        }
        model.requiresGrad(false);
        unloaded = true;
        return model;
    }

    private void checkUsable() {
        if (unloaded) {
            throw new TesseraException("this PeftModel was unloaded; use the model it returned");
        }
    }

    // ---------------------------------------------------------------- forward

    /**
     * Logits for token ids {@code [B, T]}: {@code [B, T, V]}, or {@code [B, N + T, V]} with a
     * prompt-tuning adapter (the N virtual tokens come first, as in PEFT).
     */
    public Tensor logits(Tensor ids) {
        checkUsable();
        return switch (activeConfig()) {
            case PrefixTuningConfig p -> {
                PrefixEncoder enc = prompts().module(active, PrefixEncoder.class);
                int b = ids.size(0), t = ids.size(1);
                Tensor[][] kv = enc.keysValues(b);
                try (KvCache cache = KvCache.withPrefix(kv[0], kv[1], enc.numVirtualTokens() + t)) {
                    yield model.logits(ids, cache); // positions start at N, as with PEFT's past_key_values
                }
            }
            case PromptTuningConfig p -> {
                PromptEmbedding enc = prompts().module(active, PromptEmbedding.class);
                Tensor embeds = model.inputEmbeddings().forward(ids); // (B, T, C)
                yield model.logitsFromEmbeddings(Tensor.cat(1, enc.prompts(ids.size(0)).to(embeds.device()), embeds), null);
            }
            case null, default -> model.logits(ids);
        };
    }

    /**
     * A KV cache for generating through the adapters: with prefix tuning it already holds the
     * prefix (positions {@code [0, N)}, plus N of capacity); with prompt tuning it has room for the
     * N virtual tokens that the first {@link #logits(Tensor, KvCache)} call puts in front. A
     * prefix made by the reparameterisation MLP is computed now and lives as long as the
     * enclosing {@link Scope}.
     */
    public KvCache newCache(int batch, int capacity) {
        checkUsable();
        PeftConfig c = activeConfig();
        if (c instanceof PrefixTuningConfig) {
            PrefixEncoder enc = prompts().module(active, PrefixEncoder.class);
            try (var ng = Autograd.noGrad()) {
                Tensor[][] kv = enc.keysValues(batch);
                return KvCache.withPrefix(kv[0], kv[1], enc.numVirtualTokens() + capacity);
            }
        }
        int extra = c instanceof PromptTuningConfig ? prompts().module(active, PromptEmbedding.class).numVirtualTokens() : 0;
        return model.newCache(batch, capacity + extra);
    }

    /**
     * Logits {@code [B, T, V]} continuing the sequences in {@code cache} (from
     * {@link #newCache}; null runs without one). With prompt tuning, the call on an empty cache
     * puts the virtual tokens first and returns their logits too ({@code [B, N + T, V]}).
     */
    public Tensor logits(Tensor ids, KvCache cache) {
        if (cache == null) {
            return logits(ids);
        }
        checkUsable();
        if (activeConfig() instanceof PromptTuningConfig && cache.length() == 0) {
            PromptEmbedding enc = prompts().module(active, PromptEmbedding.class);
            Tensor embeds = model.inputEmbeddings().forward(ids); // (B, T, C)
            return model.logitsFromEmbeddings(Tensor.cat(1, enc.prompts(ids.size(0)).to(embeds.device()), embeds), cache);
        }
        return model.logits(ids, cache);
    }

    /** The active adapter's config, or null when adapters are disabled or none is active. */
    private PeftConfig activeConfig() {
        return disabled || active == null ? null : configs.get(active);
    }

    /**
     * Hugging Face's causal-LM loss (shifted, labels of -100 ignored) through the adapters; with
     * prompt tuning the virtual tokens get label -100.
     */
    public Tensor loss(Tensor ids, Tensor labels) {
        if (!Arrays.equals(ids.shape(), labels.shape())) {
            throw new TesseraException("loss: labels " + Arrays.toString(labels.shape()) + " must have the shape of ids " + Arrays.toString(ids.shape()));
        }
        checkUsable();
        PeftConfig c = activeConfig();
        if (!(c instanceof PrefixTuningConfig || c instanceof PromptTuningConfig)) {
            return model.loss(ids, labels); // adapters live inside the model: its fused, chunked loss applies
        }
        Tensor logits = logits(ids);
        int extra = logits.size(1) - labels.size(1);
        if (extra > 0) {
            int b = labels.size(0), t = labels.size(1);
            long[] l = labels.toLongArray();
            long[] padded = new long[b * (extra + t)];
            Arrays.fill(padded, -100);
            for (int i = 0; i < b; i++) {
                System.arraycopy(l, i * t, padded, i * (extra + t) + extra, t);
            }
            labels = Tensor.ofLongs(padded, b, extra + t);
        }
        return CausalLM.causalLmLoss(logits, labels);
    }

    /**
     * The causal-LM loss of packed rows through the adapters (see
     * {@link CausalLM#loss(Tensor, Tensor, Tensor, Tensor)}): LoRA, IA3 and bottleneck adapters
     * live inside the model, so it runs them as they are. Prefix and prompt tuning put virtual
     * tokens in front of a row, which packed examples cannot share, so they throw.
     */
    public Tensor loss(Tensor ids, Tensor labels, Tensor positionIds, Tensor sequenceIds) {
        checkUsable();
        PeftConfig c = activeConfig();
        if (c instanceof PrefixTuningConfig || c instanceof PromptTuningConfig) {
            throw new TesseraException(c.peftType() + ": packed sequences are not supported with prefix or prompt tuning "
                    + "(the virtual tokens would be shared by every example of a row); train without packing");
        }
        return model.loss(ids, labels, positionIds, sequenceIds);
    }

    // ---------------------------------------------------------------- counting

    /** PEFT's {@code get_nb_trainable_parameters}: {trainable, all}. */
    public long[] trainableParameterCounts() {
        long trainable = 0, all = 0;
        for (var e : namedParameters().entrySet()) {
            long n = count(e.getKey(), e.getValue());
            all += n;
            trainable += e.getValue().requiresGrad() ? n : 0;
        }
        Set<Tensor> inTree = Collections.newSetFromMap(new IdentityHashMap<>());
        inTree.addAll(namedParameters().values());
        for (List<ModulesToSave> list : modulesToSave.values()) {
            for (ModulesToSave m : list) {
                for (Tensor t : m.originalsOutsideTree()) {
                    all += inTree.add(t) ? t.numel() : 0;
                }
            }
        }
        return new long[] {trainable, all};
    }

    /** Packed 4-bit weights hold two values per byte; PEFT counts their values, not their bytes. */
    private static long count(String name, Tensor t) {
        return t.dtype() == DType.U8 && name.endsWith("weight") ? 2 * t.numel() : t.numel();
    }

    /** {@code trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364}, as PEFT prints it. */
    public String trainableParametersLine() {
        long[] c = trainableParameterCounts();
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f", c[0], c[1],
                c[1] == 0 ? 0.0 : 100.0 * c[0] / c[1]);
    }

    /** Prints {@link #trainableParametersLine()} to standard output. */
    public void printTrainableParameters() {
        System.out.println(trainableParametersLine());
    }

    // ---------------------------------------------------------------- state and files

    /**
     * PEFT's {@code get_peft_model_state_dict}: the tensors saved for {@code adapter}, under
     * PEFT's keys without the adapter name ({@code base_model.model.….lora_A.weight},
     * {@code prompt_embeddings}). Live tensors, except the prefix table made by the
     * reparameterisation MLP, which is computed (owned by the current scope).
     */
    public Map<String, Tensor> adapterStateDict(String adapter) {
        checkUsable();
        PeftConfig c = requireAdapter(adapter);
        Map<String, Tensor> out = new LinkedHashMap<>();
        String prefix = "base_model.model.";
        switch (c) {
            case PrefixTuningConfig p -> {
                try (var ng = Autograd.noGrad()) {
                    out.put("prompt_embeddings", prompts().module(adapter, PrefixEncoder.class).table());
                }
            }
            case PromptTuningConfig p -> out.put("prompt_embeddings", prompts().module(adapter, PromptEmbedding.class).weight());
            default -> {
                tunerLayers().forEach((path, t) -> {
                    if (t.adapterNames().contains(adapter)) {
                        t.adapterTensors(adapter).forEach((k, v) -> out.put(prefix + path + "." + k, v));
                    }
                });
                if (c instanceof LoraConfig lc) {
                    loraBiases(adapter, lc).forEach((k, v) -> out.put(prefix + k, v));
                    if (targetsEmbeddingLayer(lc.targetModules())) {
                        // PEFT's save_embedding_layers="auto": the base weight of a targeted lm_head / embed_tokens goes along
                        tunerLayers().forEach((path, t) -> {
                            if (t.adapterNames().contains(adapter) && EMBEDDING_LAYER_NAMES.contains(path.substring(path.lastIndexOf('.') + 1))) {
                                out.put(prefix + path + ".base_layer.weight", t.baseLayer().weight());
                            }
                        });
                    }
                }
                for (ModulesToSave m : modulesToSave.getOrDefault(adapter, List.of())) {
                    m.trained().namedParameters().forEach((k, v) -> {
                        out.put(prefix + m.path() + "." + k, v);
                        if (c instanceof LoraConfig lc && lc.bias() == LoraConfig.Bias.ALL && k.contains("bias")) {
                            // PEFT's bias="all" also picks up the wrapper's inner copies, under these names
                            out.put(prefix + m.path() + ".modules_to_save." + k, v);
                            out.put(prefix + m.path() + ".original_module." + k, m.originalTensor(k));
                        }
                    });
                }
            }
        }
        return out;
    }

    /**
     * PEFT's {@code save_pretrained}: every adapter, "default" into {@code dir} and the others
     * into {@code dir/<name>}: {@code adapter_config.json} (sorted keys, indented, inference
     * mode), {@code adapter_model.safetensors} ({@code {"format": "pt"}}) and a README.md card.
     */
    public void save(Path dir) {
        checkUsable();
        for (String adapter : configs.keySet()) {
            saveAdapter(adapter, adapter.equals("default") ? dir : dir.resolve(adapter));
        }
    }

    /** Writes one adapter's folder. */
    public void saveAdapter(String adapter, Path dir) {
        PeftConfig c = requireAdapter(adapter);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new TesseraException(dir + ": cannot create folder (" + e.getMessage() + ")", e);
        }
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            adapterStateDict(adapter).forEach((k, v) -> state.put(k, v.dtype() == DType.F32 ? v : v.cast(DType.F32)));
            SafeTensors.write(dir.resolve("adapter_model.safetensors"), state);
        }
        PythonJson.writeAtomically(dir.resolve("adapter_config.json"), PythonJson.dumps(AdapterConfigJson.toJson(c, model.config())));
        PythonJson.writeAtomically(dir.resolve("README.md"), ModelCard.of(c));
    }

    /**
     * Loads the adapter folder {@code dir} (PEFT's or Tessera's) as {@code name}. Tensors may be
     * F32, BF16 or F16. Every tensor the adapter needs must be in the file with its shape, and
     * the file may hold nothing else but the base weights PEFT saves for targeted
     * lm_head / embed_tokens; problems are reported together, naming the file. Loaded for
     * inference, the whole model is put in eval mode (dropout off), as PEFT does.
     */
    public void loadAdapter(Path dir, String name, boolean trainable) {
        checkUsable();
        Path configFile = dir.resolve("adapter_config.json");
        Path weights = dir.resolve("adapter_model.safetensors");
        if (!Files.isRegularFile(configFile)) {
            throw new TesseraException(configFile + ": no such file (not a PEFT adapter folder)");
        }
        if (!Files.isRegularFile(weights)) {
            throw new TesseraException(weights + ": no such file" + (Files.isRegularFile(dir.resolve("adapter_model.bin"))
                    ? " (adapter_model.bin is a pickle; save the adapter with safe_serialization=True)" : ""));
        }
        PeftConfig config = AdapterConfigJson.read(configFile, !trainable);
        checkPromptSizes(config, configFile);
        if (config instanceof PrefixTuningConfig p && p.prefixProjection()) {
            // the file holds the MLP's output: the reparameterisation is dropped after training, as in PEFT
            config = p.withPrefixProjection(false, p.encoderHiddenSize());
        }
        addAdapter(name, config);
        try (SafeTensorsFile f = SafeTensors.open(weights)) {
            Map<String, Tensor> expected = adapterStateDict(name);
            List<String> problems = new ArrayList<>();
            Map<Tensor, String> copies = new IdentityHashMap<>();
            for (var e : expected.entrySet()) {
                if (!f.contains(e.getKey())) {
                    problems.add("missing " + e.getKey());
                } else if (!Arrays.equals(f.shape(e.getKey()), e.getValue().shape())) {
                    problems.add(e.getKey() + " has shape " + Arrays.toString(f.shape(e.getKey())) + ", expected " + Arrays.toString(e.getValue().shape()));
                } else {
                    copies.put(e.getValue(), e.getKey());
                }
            }
            Map<String, Tensor> baseWeights = new LinkedHashMap<>();
            Set<String> unexpected = new TreeSet<>();
            for (String key : f.names()) {
                if (expected.containsKey(key)) {
                    continue;
                }
                Tensor base = baseLayerWeight(key);
                if (base == null) {
                    unexpected.add(key);
                } else if (!Arrays.equals(f.shape(key), base.shape())) {
                    problems.add(key + " has shape " + Arrays.toString(f.shape(key)) + ", expected " + Arrays.toString(base.shape()));
                } else {
                    baseWeights.put(key, base);
                }
            }
            if (!unexpected.isEmpty()) {
                problems.add("unexpected " + unexpected);
            }
            if (!problems.isEmpty()) {
                deleteAdapter(name);
                throw new TesseraException(weights + ": does not fit the " + config.peftType() + " adapter: " + String.join("; ", problems));
            }
            try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
                copies.forEach((param, key) -> param.copyFrom(f.tensor(key)));
                baseWeights.forEach((key, base) -> {
                    Tensor saved = f.tensor(key).cast(DType.F32);
                    if (!Arrays.equals(saved.toFloatArray(), base.toFloatArray())) {
                        base.copyFrom(saved); // PEFT saved a base weight that differs (e.g. resized embeddings)
                    }
                });
            }
        }
        updateTrainable();
        if (!trainable) {
            eval(); // as PEFT: loaded for inference, dropout off
        }
    }

    /** PEFT's test: an embedding layer's name is in the target list (or, for a regex, in its text). */
    private static boolean targetsEmbeddingLayer(TargetModules targets) {
        return switch (targets) {
            case TargetModules.Names n -> n.names().stream().anyMatch(EMBEDDING_LAYER_NAMES::contains);
            case TargetModules.Regex r -> EMBEDDING_LAYER_NAMES.stream().anyMatch(r.pattern()::contains);
            case null, default -> false;
        };
    }

    /** {@code base_model.model.<path>.base_layer.weight} of a wrapped layer, or null. */
    private Tensor baseLayerWeight(String key) {
        String prefix = "base_model.model.", suffix = ".base_layer.weight";
        if (!key.startsWith(prefix) || !key.endsWith(suffix)) {
            return null;
        }
        TunerLayer t = tunerLayers().get(key.substring(prefix.length(), key.length() - suffix.length()));
        return t == null ? null : t.baseLayer().weight();
    }

    /** Prefix and prompt configs record the model's sizes; they must be this model's. */
    private void checkPromptSizes(PeftConfig config, Path file) {
        ModelConfig mc = model.config();
        var n = PythonJson.read(file);
        int[] expected;
        String[] keys = {"num_layers", "token_dim", "num_attention_heads"};
        if (config instanceof PrefixTuningConfig) {
            expected = new int[] {mc.numLayers(), mc.numKvHeads() * mc.headDim(), mc.numKvHeads()};
        } else if (config instanceof PromptTuningConfig) {
            expected = new int[] {mc.numLayers(), mc.hiddenSize(), mc.numHeads()};
        } else {
            return;
        }
        for (int i = 0; i < keys.length; i++) {
            if (n.hasNonNull(keys[i]) && n.get(keys[i]).asInt() != expected[i]) {
                throw new TesseraException(file + ": " + keys[i] + " is " + n.get(keys[i]).asInt() + " but this model has " + expected[i]
                        + " (the adapter was made for another model)");
            }
        }
    }
}
