package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * (IA)³ around a linear layer, as PEFT's {@code IA3Layer}: a vector {@code ia3_l} that scales the
 * output ({@code [out, 1]}: {@code base(x) · l}) or, for feed-forward layers, the input
 * ({@code [1, in]}: {@code base(x · l)}). Merging multiplies it into the weight (and, for output
 * scaling, the bias).
 */
final class Ia3Linear extends Module implements TunerLayer {
    private final boolean feedforward;
    private final List<String> merged = new ArrayList<>();
    private String active;
    private boolean disabled;

    Ia3Linear(LinearLayer base, boolean feedforward) {
        this.feedforward = feedforward;
        addModule("base_layer", (Module) base);
        addModule("ia3_l", new AdapterDict());
    }

    boolean isFeedforward() {
        return feedforward;
    }

    /** Adds vector {@code name}: ones, or N(0, 1) when {@code ones} is false (PEFT's init_ia3_weights). */
    void addAdapter(String name, boolean ones, Rng rng) {
        if (vectors().contains(name)) {
            throw new TesseraException("IA3: adapter '" + name + "' already exists on this layer");
        }
        int[] shape = feedforward ? new int[] {1, inFeatures()} : new int[] {outFeatures(), 1};
        Device device = PeftModules.deviceOf(baseModule());
        Tensor l = Scope.unowned(() -> (ones ? Tensor.full(1, DType.F32, Device.CPU, shape) : rng.randn(shape)).to(device));
        vectors().putParameter(name, l);
    }

    private AdapterDict vectors() {
        return child("ia3_l", AdapterDict.class);
    }

    Tensor vector(String adapter) {
        Tensor t = vectors().parameter(adapter);
        if (t == null) {
            throw new TesseraException("IA3: no adapter '" + adapter + "' on this layer");
        }
        return t;
    }

    // x (..., in) -> (..., out)
    @Override
    public Tensor forward(Tensor x) {
        LinearLayer base = baseLayer();
        if (disabled) {
            unmergeAll();
            return base.forward(x);
        }
        if (active == null || merged.contains(active)) {
            return base.forward(x);
        }
        Tensor l = vector(active).reshape(-1);
        return feedforward ? base.forward(x.mul(l)) : base.forward(x).mul(l);
    }

    @Override
    public LinearLayer baseLayer() {
        return child("base_layer", LinearLayer.class);
    }

    @Override
    public List<String> adapterNames() {
        return vectors().names();
    }

    @Override
    public void setActiveAdapter(String adapter) {
        active = adapter != null && vectors().contains(adapter) ? adapter : null;
    }

    @Override
    public void setAdaptersDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    @Override
    public void deleteAdapter(String adapter) {
        Tensor l = vector(adapter);
        if (merged.contains(adapter)) {
            throw new TesseraException("IA3: adapter '" + adapter + "' is merged; unmerge it before deleting it");
        }
        setSubmodule("ia3_l", vectors().without(adapter));
        if (adapter.equals(active)) {
            active = null;
        }
        l.zeroGrad();
        l.release();
    }

    @Override
    public Map<String, Tensor> adapterTensors(String adapter) {
        return Map.of("ia3_l", vector(adapter));
    }

    @Override
    public void mergeAdapter(String adapter) {
        if (merged.contains(adapter)) {
            return;
        }
        scaleWeights(vector(adapter), false);
        merged.add(adapter);
    }

    @Override
    public void unmergeAll() {
        while (!merged.isEmpty()) {
            scaleWeights(vector(merged.removeLast()), true);
        }
    }

    @Override
    public List<String> mergedAdapters() {
        return List.copyOf(merged);
    }

    /** W [out, in] *= l (or /= l + 1e-8 as PEFT unmerges), through addToWeight; the bias too for output scaling. */
    private void scaleWeights(Tensor l, boolean divide) {
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor factor = divide ? Tensor.full(1, DType.F32, l.device()).div(l.add(1e-8f)) : l; // [1, in] or [out, 1]
            Tensor w = baseLayer().weight();
            baseLayer().addToWeight(w.mul(factor).sub(w));
            Tensor b = baseLayer().bias();
            if (!feedforward && b != null) {
                b.copyFrom(b.mul(factor.reshape(-1)));
            }
        }
    }

    @Override
    protected String extraRepr() {
        return "in=" + inFeatures() + ", out=" + outFeatures() + ", feedforward=" + feedforward + ", adapters=" + adapterNames();
    }
}
