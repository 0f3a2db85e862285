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
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Houlsby bottleneck adapter on the output of a projection: {@code h = base(x)}, then
 * {@code h + up(act(down(h)))}, with {@code down [d / reduction, d]} (nn.Linear's default init)
 * and {@code up [d, d / reduction]} starting at zero (weights and biases), so a fresh adapter is
 * the identity. Not linear, so it cannot be merged.
 */
final class BottleneckLinear extends TunerLayer {
    private final Map<String, Activation> activations = new LinkedHashMap<>();

    BottleneckLinear(LinearLayer base) {
        super("bottleneck", base, "adapter_down", "adapter_up");
    }

    void addAdapter(String name, int reductionFactor, Activation act, Rng rng) {
        register(name);
        int d = outFeatures();
        int hidden = Math.max(1, d / reductionFactor);
        Device device = baseDevice();
        float bound = (float) (1 / Math.sqrt(d));
        Tensor downW = Scope.unowned(() -> rng.kaimingUniform(hidden, d).to(device));
        Tensor downB = Scope.unowned(() -> rng.uniform(-bound, bound, hidden).to(device));
        Tensor upW = Scope.unowned(() -> Tensor.zeros(DType.F32, device, d, hidden));
        Tensor upB = Scope.unowned(() -> Tensor.zeros(DType.F32, device, d));
        dict("adapter_down").putModule(name, new Linear(downW, downB));
        dict("adapter_up").putModule(name, new Linear(upW, upB));
        activations.put(name, act);
    }

    private Linear down(String adapter) {
        return dict("adapter_down").module(requireAdapter(adapter), Linear.class);
    }

    private Linear up(String adapter) {
        return dict("adapter_up").module(requireAdapter(adapter), Linear.class);
    }

    // x (..., in) -> (..., out)
    @Override
    public Tensor forward(Tensor x) {
        String adapter = adapterForForward();
        Tensor h = baseLayer().forward(x);
        if (adapter == null) {
            return h;
        }
        // (..., d) -> (..., d / reduction) -> (..., d)
        return h.add(up(adapter).forward(activations.get(adapter).apply(down(adapter).forward(h))));
    }

    @Override
    void forget(String adapter) {
        activations.remove(adapter);
    }

    @Override
    public Map<String, Tensor> adapterTensors(String adapter) {
        return linearTensors(adapter, "adapter_down", "adapter_up");
    }

    @Override
    void fold(String adapter, int sign) {
        throw new TesseraException("bottleneck adapters are not linear and cannot be merged into the base weights");
    }
}
