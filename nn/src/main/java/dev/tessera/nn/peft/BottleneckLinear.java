package dev.tessera.nn.peft;

import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Activation;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Houlsby bottleneck adapter on the output of a projection: {@code h = base(x)}, then
 * {@code h + up(act(down(h)))}, with {@code down [d / reduction, d]} (nn.Linear's default init)
 * and {@code up [d, d / reduction]} starting at zero (weights and biases), so a fresh adapter is
 * the identity. Not linear, so it cannot be merged.
 */
final class BottleneckLinear extends Module implements TunerLayer {
    private final Map<String, Activation> activations = new LinkedHashMap<>();
    private String active;
    private boolean disabled;

    BottleneckLinear(LinearLayer base) {
        addModule("base_layer", (Module) base);
        addModule("adapter_down", new AdapterDict());
        addModule("adapter_up", new AdapterDict());
    }

    void addAdapter(String name, int reductionFactor, Activation act, Rng rng) {
        if (activations.containsKey(name)) {
            throw new TesseraException("bottleneck adapter '" + name + "' already exists on this layer");
        }
        int d = outFeatures();
        int hidden = Math.max(1, d / reductionFactor);
        Device device = PeftModules.deviceOf(baseModule());
        float bound = (float) (1 / Math.sqrt(d));
        Tensor downW = Scope.unowned(() -> rng.kaimingUniform(hidden, d).to(device));
        Tensor downB = Scope.unowned(() -> rng.uniform(-bound, bound, hidden).to(device));
        Tensor upW = Scope.unowned(() -> Tensor.zeros(DType.F32, device, d, hidden));
        Tensor upB = Scope.unowned(() -> Tensor.zeros(DType.F32, device, d));
        child("adapter_down", AdapterDict.class).putModule(name, new Linear(downW, downB));
        child("adapter_up", AdapterDict.class).putModule(name, new Linear(upW, upB));
        activations.put(name, act);
    }

    private Linear down(String adapter) {
        return child("adapter_down", AdapterDict.class).module(require(adapter), Linear.class);
    }

    private Linear up(String adapter) {
        return child("adapter_up", AdapterDict.class).module(require(adapter), Linear.class);
    }

    private String require(String adapter) {
        if (!activations.containsKey(adapter)) {
            throw new TesseraException("bottleneck: no adapter '" + adapter + "' on this layer (has " + activations.keySet() + ")");
        }
        return adapter;
    }

    // x (..., in) -> (..., out)
    @Override
    public Tensor forward(Tensor x) {
        Tensor h = baseLayer().forward(x);
        if (disabled || active == null) {
            return h;
        }
        // (..., d) -> (..., d / reduction) -> (..., d)
        return h.add(up(active).forward(activations.get(active).apply(down(active).forward(h))));
    }

    @Override
    public LinearLayer baseLayer() {
        return child("base_layer", LinearLayer.class);
    }

    @Override
    public List<String> adapterNames() {
        return List.copyOf(activations.keySet());
    }

    @Override
    public void setActiveAdapter(String adapter) {
        active = adapter != null && activations.containsKey(adapter) ? adapter : null;
    }

    @Override
    public void setAdaptersDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    @Override
    public void deleteAdapter(String adapter) {
        List<Tensor> freed = List.copyOf(adapterTensors(adapter).values());
        for (String d : List.of("adapter_down", "adapter_up")) {
            setSubmodule(d, child(d, AdapterDict.class).without(adapter));
        }
        activations.remove(adapter);
        if (adapter.equals(active)) {
            active = null;
        }
        for (Tensor t : freed) {
            t.zeroGrad();
            t.release();
        }
    }

    @Override
    public Map<String, Tensor> adapterTensors(String adapter) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("adapter_down.weight", down(adapter).weight());
        out.put("adapter_down.bias", down(adapter).bias());
        out.put("adapter_up.weight", up(adapter).weight());
        out.put("adapter_up.bias", up(adapter).bias());
        return out;
    }

    @Override
    public void mergeAdapter(String adapter) {
        throw new TesseraException("bottleneck adapters are not linear and cannot be merged into the base weights");
    }

    @Override
    public void unmergeAll() {}

    @Override
    public List<String> mergedAdapters() {
        return List.of();
    }

    @Override
    protected String extraRepr() {
        return "in=" + inFeatures() + ", out=" + outFeatures() + ", adapters=" + adapterNames();
    }
}
