package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.KvCache;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
    private final CausalLM model;
    private final Map<String, PeftConfig> configs = new LinkedHashMap<>();
    private final SavedModules savedModules = new SavedModules();
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
        boolean promptLearning = PromptLearningInjector.isPromptLearning(config);
        if (promptLearning && !configs.isEmpty()) {
            throw new TesseraException(config.peftType() + ": prompt-learning adapters cannot share a model with other adapters (as in PEFT)");
        }
        if (!promptLearning && configs.values().stream().anyMatch(PromptLearningInjector::isPromptLearning)) {
            throw new TesseraException(config.peftType() + ": this model carries a prompt-learning adapter; it cannot take another");
        }
        if (config.baseModelNameOrPath() == null) {
            config = withBaseModel(config, defaultBaseName(model.config()));
        }
        Injection in = new Injection(model, savedModules, prompts());
        PeftConfig effective = switch (config) {
            case LoraConfig c -> LoraInjector.inject(in, name, c);
            case Ia3Config c -> Ia3Injector.inject(in, name, c);
            case BottleneckAdapterConfig c -> BottleneckInjector.inject(in, name, c);
            case PrefixTuningConfig c -> PromptLearningInjector.inject(in, name, c);
            case PromptTuningConfig c -> PromptLearningInjector.inject(in, name, c);
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
        PeftConfig c = configs.get(adapter);
        if (c == null) {
            throw new TesseraException("no adapter '" + adapter + "' (adapters: " + configs.keySet() + ")");
        }
        return c;
    }

    /** Makes {@code adapter} the one forward uses and the one that trains (others are frozen). */
    public void setAdapter(String adapter) {
        checkUsable();
        config(adapter);
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
        for (ModulesToSave m : savedModules.of(active)) {
            m.useOriginal(disabled);
        }
    }

    /** Removes {@code adapter}, frees its tensors and unwraps layers left without adapters. */
    public void deleteAdapter(String adapter) {
        checkUsable();
        config(adapter);
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
        savedModules.restoreAndRemove(adapter);
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
    Map<String, TunerLayer> tunerLayers() {
        Map<String, TunerLayer> out = new LinkedHashMap<>();
        for (var e : Targets.candidates(model).entrySet()) {
            if (e.getValue() instanceof TunerLayer t) {
                out.put(e.getKey(), t);
            }
        }
        return out;
    }

    /** The prompt-learning encoders by adapter ({@code prompt_encoder}). */
    AdapterDict prompts() {
        return child("prompt_encoder", AdapterDict.class);
    }

    SavedModules savedModules() {
        return savedModules;
    }

    /** Base frozen; the active adapter's tensors (and its modules_to_save, and biases per LoRA's bias) trainable unless in inference mode. */
    private void updateTrainable() {
        model.requiresGrad(false);
        for (var e : configs.entrySet()) {
            boolean train = e.getKey().equals(active) && !e.getValue().inferenceMode();
            for (Tensor t : adapterParameters(e.getKey())) {
                t.requiresGrad(train);
            }
            for (ModulesToSave m : savedModules.of(e.getKey())) {
                m.setTrainable(train);
            }
            if (train && e.getValue() instanceof LoraConfig lc) {
                for (Tensor b : AdapterState.loraBiases(this, e.getKey(), lc).values()) {
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

    // ---------------------------------------------------------------- merging

    /** Folds the active adapter into the base weights (LoRA: {@code W += scaling·B·A}; IA3: {@code W *= l}). */
    public void merge() {
        checkUsable();
        if (active == null) {
            throw new TesseraException("no active adapter");
        }
        PeftConfig c = config(active);
        if (PromptLearningInjector.isPromptLearning(c)) {
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
     * saves as an ordinary Hugging Face model folder. This PeftModel is unusable afterwards.
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
        for (ModulesToSave m : savedModules.all()) {
            if (keepMerged) {
                m.finish();
            } else {
                m.restore();
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
            case PromptTuningConfig p -> promptedLogits(ids, null);
            case null, default -> model.logits(ids);
        };
    }

    /** Prompt tuning: the virtual tokens' embeddings, then the ids' ({@code (B, N + T, C)}), through the model. */
    private Tensor promptedLogits(Tensor ids, KvCache cache) {
        PromptEmbedding enc = prompts().module(active, PromptEmbedding.class);
        Tensor embeds = model.inputEmbeddings().forward(ids); // (B, T, C)
        return model.logitsFromEmbeddings(Tensor.cat(1, enc.prompts(ids.size(0)).to(embeds.device()), embeds), cache);
    }

    /**
     * A KV cache for generating through the adapters: with prefix tuning it already holds the
     * prefix (positions {@code [0, N)}, plus N of capacity); with prompt tuning it has room for the
     * N virtual tokens that the first {@link #logits(Tensor, KvCache)} call puts in front. A
     * prefix made by the reparameterisation MLP is computed now and lives as long as the
     * enclosing {@link dev.tessera.core.Scope}.
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
            return promptedLogits(ids, cache);
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
        if (!PromptLearningInjector.isPromptLearning(activeConfig())) {
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
        if (PromptLearningInjector.isPromptLearning(c)) {
            throw new TesseraException(c.peftType() + ": packed sequences are not supported with prefix or prompt tuning "
                    + "(the virtual tokens would be shared by every example of a row); train without packing");
        }
        return model.loss(ids, labels, positionIds, sequenceIds);
    }

    // ---------------------------------------------------------------- counting

    /** PEFT's {@code get_nb_trainable_parameters}: {trainable, all}; each layer counts its own parameters (see {@link dev.tessera.nn.LinearLayer#valueCount}). */
    public long[] trainableParameterCounts() {
        return ParameterCounts.of(this);
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
        return AdapterState.of(this, adapter);
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
        AdapterFiles.save(this, adapter, dir);
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
        PeftConfig config = AdapterFiles.readConfig(dir, model.config(), trainable);
        addAdapter(name, config);
        AdapterFiles.readWeights(this, name, dir);
        updateTrainable();
        if (!trainable) {
            eval(); // as PEFT: loaded for inference, dropout off
        }
    }
}
