package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.LinearLayer;
import java.util.Map;

/**
 * (IA)³ around a linear layer, as PEFT's {@code IA3Layer}: a vector {@code ia3_l} that scales the
 * output ({@code [out, 1]}: {@code base(x) · l}) or, for feed-forward layers, the input
 * ({@code [1, in]}: {@code base(x · l)}). Merging multiplies it into the weight (and, for output
 * scaling, the bias).
 */
final class Ia3Linear extends TunerLayer {
    private final boolean feedforward;

    Ia3Linear(LinearLayer base, boolean feedforward) {
        super("IA3", base, "ia3_l");
        this.feedforward = feedforward;
    }

    boolean isFeedforward() {
        return feedforward;
    }

    /** Adds vector {@code name}: ones, or N(0, 1) when {@code ones} is false (PEFT's init_ia3_weights). */
    void addAdapter(String name, boolean ones, Rng rng) {
        register(name);
        int[] shape = feedforward ? new int[] {1, inFeatures()} : new int[] {outFeatures(), 1};
        Device device = baseDevice();
        Tensor l = Scope.unowned(() -> (ones ? Tensor.full(1, DType.F32, Device.CPU, shape) : rng.randn(shape)).to(device));
        dict("ia3_l").putParameter(name, l);
    }

    Tensor vector(String adapter) {
        return dict("ia3_l").parameter(requireAdapter(adapter));
    }

    // x (..., in) -> (..., out)
    @Override
    public Tensor forward(Tensor x) {
        String adapter = adapterForForward();
        LinearLayer base = baseLayer();
        if (adapter == null) {
            return base.forward(x);
        }
        Tensor l = vector(adapter).reshape(-1);
        return feedforward ? base.forward(x.mul(l)) : base.forward(x).mul(l);
    }

    @Override
    public Map<String, Tensor> adapterTensors(String adapter) {
        return Map.of("ia3_l", vector(adapter));
    }

    /**
     * W [out, in] *= l (or /= l + 1e-8 as PEFT unmerges), through addToWeight; the bias too for
     * output scaling.
     */
    @Override
    void fold(String adapter, int sign) {
        Tensor l = vector(adapter);
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor factor = sign < 0 ? Tensor.full(1, DType.F32, l.device()).div(l.add(1e-8f)) : l; // [1, in] or [out, 1]
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
