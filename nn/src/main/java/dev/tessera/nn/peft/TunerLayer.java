package dev.tessera.nn.peft;

import dev.tessera.core.Device;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A linear layer wrapped by an adapter method (PEFT's {@code BaseTunerLayer}): the base layer as
 * child {@code base_layer}, named adapters whose modules live in {@link AdapterDict} children
 * ({@code lora_A}, {@code ia3_l}, ...), one adapter active at a time, adapters turned off
 * together, and merged adapters folded into the base weight. This class keeps that bookkeeping;
 * a tuner type says what its adapter tensors are, how they change the output, and how one folds
 * into the weight.
 *
 * <p>The linear contract is the wrapped layer's: same shapes, and its weight (merged adapters in it).
 */
abstract sealed class TunerLayer extends Module implements LinearLayer permits LoraLinear, Ia3Linear, BottleneckLinear {
    /** Names the method in errors: "LoRA", "IA3", "bottleneck". */
    private final String method;
    private final List<String> dicts;
    private final List<String> adapters = new ArrayList<>();
    private final List<String> merged = new ArrayList<>();
    private String active;
    private boolean disabled;

    /** Wraps {@code base}, with an empty {@link AdapterDict} child per name in {@code dicts}. */
    TunerLayer(String method, LinearLayer base, String... dicts) {
        if (!(base instanceof Module m)) {
            throw new TesseraException(method + " wraps linear layers that are modules, got a " + base.getClass().getSimpleName());
        }
        this.method = method;
        this.dicts = List.of(dicts);
        addModule("base_layer", m);
        for (String d : dicts) {
            addModule(d, new AdapterDict());
        }
    }

    // ---------------------------------------------------------------- what a tuner type adds

    /** The adapter's tensors by PEFT's key relative to this layer, without the adapter name ({@code lora_A.weight}). */
    public abstract Map<String, Tensor> adapterTensors(String adapter);

    /** Folds {@code adapter} into the base weight ({@code sign} 1) or takes it back out (-1). */
    abstract void fold(String adapter, int sign);

    /** Forgets per-adapter settings kept outside the adapter dicts, when {@code adapter} is deleted. */
    void forget(String adapter) {}

    // ---------------------------------------------------------------- bookkeeping

    /** Records a new adapter; its tensors go into the dicts next. */
    final void register(String adapter) {
        if (adapters.contains(adapter)) {
            throw new TesseraException(method + ": adapter '" + adapter + "' already exists on this layer");
        }
        adapters.add(adapter);
    }

    /** {@code adapter}, or a one-line error when this layer does not hold it. */
    final String requireAdapter(String adapter) {
        if (!adapters.contains(adapter)) {
            throw new TesseraException(method + ": no adapter '" + adapter + "' on this layer (has " + adapters + ")");
        }
        return adapter;
    }

    final AdapterDict dict(String name) {
        return child(name, AdapterDict.class);
    }

    /**
     * The weights (and biases, when present) of {@code adapter}'s {@link Linear} in each of
     * {@code dicts}, under PEFT's keys: {@code lora_A.weight}, {@code adapter_down.bias}.
     */
    final Map<String, Tensor> linearTensors(String adapter, String... dicts) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String d : dicts) {
            Linear l = dict(d).module(requireAdapter(adapter), Linear.class);
            out.put(d + ".weight", l.weight());
            if (l.bias() != null) {
                out.put(d + ".bias", l.bias());
            }
        }
        return out;
    }

    /** Where new adapter tensors go: the device of the base layer's first parameter (CPU when it has none). */
    final Device baseDevice() {
        for (Tensor t : baseModule().namedParameters().values()) {
            return t.device();
        }
        return Device.CPU;
    }

    /**
     * The adapter forward applies, or null for the base output alone: none active, the active
     * one merged already, or adapters disabled (merged ones are unmerged first, as PEFT does).
     */
    final String adapterForForward() {
        if (disabled) {
            unmergeAll();
            return null;
        }
        return active == null || merged.contains(active) ? null : active;
    }

    /** The wrapped layer. */
    public final LinearLayer baseLayer() {
        return child("base_layer", LinearLayer.class);
    }

    /** The module form of {@link #baseLayer()}. */
    final Module baseModule() {
        return (Module) baseLayer();
    }

    /** Adapter names held by this layer, in the order they were added. */
    public final List<String> adapterNames() {
        return List.copyOf(adapters);
    }

    /** The adapter forward uses, or null. */
    public final String activeAdapter() {
        return active;
    }

    /** Makes {@code adapter} the one used by forward, or none when null or not held here. */
    public final void setActiveAdapter(String adapter) {
        active = adapter != null && adapters.contains(adapter) ? adapter : null;
    }

    /** With adapters disabled the layer computes its base output (unmerging first). */
    public final void setAdaptersDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    /** Drops {@code adapter} and frees its tensors; a merged adapter must be unmerged first. */
    public final void deleteAdapter(String adapter) {
        requireAdapter(adapter);
        if (merged.contains(adapter)) {
            throw new TesseraException(method + ": adapter '" + adapter + "' is merged; unmerge it before deleting it");
        }
        List<Tensor> freed = List.copyOf(adapterTensors(adapter).values());
        for (String d : dicts) {
            setSubmodule(d, dict(d).without(adapter));
        }
        adapters.remove(adapter);
        forget(adapter);
        if (adapter.equals(active)) {
            active = null;
        }
        for (Tensor t : freed) {
            t.zeroGrad();
            t.release();
        }
    }

    /** Folds {@code adapter} into the base weight (once). */
    public final void mergeAdapter(String adapter) {
        requireAdapter(adapter);
        if (merged.contains(adapter)) {
            return;
        }
        fold(adapter, 1);
        merged.add(adapter);
    }

    /** Takes every merged adapter back out of the base weight, last merged first. */
    public final void unmergeAll() {
        while (!merged.isEmpty()) {
            fold(merged.removeLast(), -1);
        }
    }

    /** Names of the adapters merged into the base weight. */
    public final List<String> mergedAdapters() {
        return List.copyOf(merged);
    }

    // ---------------------------------------------------------------- the linear contract, the base layer's

    @Override
    public final int inFeatures() {
        return baseLayer().inFeatures();
    }

    @Override
    public final int outFeatures() {
        return baseLayer().outFeatures();
    }

    @Override
    public final Tensor weight() {
        return baseLayer().weight();
    }

    @Override
    public final Tensor bias() {
        return baseLayer().bias();
    }

    @Override
    public final void addToWeight(Tensor deltaOutIn) {
        baseLayer().addToWeight(deltaOutIn);
    }

    @Override
    protected String extraRepr() {
        return "in=" + inFeatures() + ", out=" + outFeatures() + ", adapters=" + adapters;
    }
}
