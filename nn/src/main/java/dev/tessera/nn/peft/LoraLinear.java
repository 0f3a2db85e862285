package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Dropout;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA around any linear layer ({@link Linear}, GPT-2's {@code Conv1D}, a 4-bit layer — which
 * makes QLoRA): {@code y = base(x) + B(A(dropout(x))) · scaling}, with {@code A [r, in]},
 * {@code B [out, r]} and {@code scaling = alpha / r} ({@code alpha / sqrt(r)} with rsLoRA). The
 * base is frozen; only A and B train. Parameter names are PEFT's:
 * {@code base_layer.weight}, {@code lora_A.default.weight}, {@code lora_B.default.weight}.
 *
 * <pre>{@code
 * Linear base = new Linear(4096, 4096, false, new Rng(0));
 * LoraLinear lora = new LoraLinear(base, 8, 16, 0.0, new Rng(1));   // r 8, alpha 16: scaling 2
 * long trainable = lora.parameterCount(true);                        // 65,536 = 8·4096 + 4096·8
 * Tensor y = lora.forward(x);                                        // base(x) + 2·B(A(x))
 * lora.merge();                                                      // W += 2·B·A: forward is one GEMM again
 * }</pre>
 *
 * A layer may hold several named adapters (added through {@link PeftModel}); one is active.
 * Merging adds {@code scaling · B·A} to the base weight through {@link LinearLayer#addToWeight},
 * so the base layer's storage layout (Conv1D's {@code [in, out]}, packed 4-bit) is its own
 * business; unmerging subtracts it again.
 */
public final class LoraLinear extends TunerLayer {
    private record Spec(int r, double alpha, double scaling) {}

    private final Map<String, Spec> specs = new LinkedHashMap<>();

    /**
     * Wraps {@code base} with one adapter named "default" of rank {@code r}, scaling
     * {@code alpha / r}, PEFT's default init (A kaiming-uniform, B zero), dropout {@code dropout}
     * on the adapter's input; freezes the base.
     */
    public LoraLinear(LinearLayer base, int r, double alpha, double dropout, Rng rng) {
        this(base);
        baseModule().requiresGrad(false);
        addAdapter("default", r, alpha, dropout, false, LoraConfig.LoraInit.KAIMING_UNIFORM, rng);
        setActiveAdapter("default");
    }

    /** An empty wrapper; adapters come through {@link #addAdapter}. */
    LoraLinear(LinearLayer base) {
        super("LoRA", base, "lora_dropout", "lora_A", "lora_B");
    }

    /** Adds adapter {@code name} ({@code A [r, in]}, {@code B [out, r]}) initialised per {@code init}. */
    void addAdapter(String name, int r, double alpha, double dropout, boolean rslora, LoraConfig.LoraInit init, Rng rng) {
        if (r <= 0) {
            throw new TesseraException("LoRA: rank must be positive, got " + r);
        }
        register(name);
        int in = inFeatures(), out = outFeatures();
        Device device = baseDevice();
        Tensor a = Scope.unowned(() -> switch (init) {
            case KAIMING_UNIFORM, RANDOM -> rng.kaimingUniform(r, in).to(device);
            case GAUSSIAN -> rng.normal(0f, (float) (1.0 / r), r, in).to(device);
        });
        Tensor b = Scope.unowned(() -> init == LoraConfig.LoraInit.RANDOM
                ? rng.kaimingUniform(out, r).to(device)
                : Tensor.zeros(DType.F32, device, out, r));
        dict("lora_dropout").putModule(name, new Dropout((float) dropout, rng));
        dict("lora_A").putModule(name, new Linear(a, null));
        dict("lora_B").putModule(name, new Linear(b, null));
        specs.put(name, new Spec(r, alpha, LoraConfig.scaling(alpha, r, rslora)));
    }

    // x (..., in) -> (..., out)
    @Override
    public Tensor forward(Tensor x) {
        String adapter = adapterForForward();
        Tensor result = baseLayer().forward(x);
        if (adapter == null) {
            return result;
        }
        Tensor h = dict("lora_dropout").module(adapter, Dropout.class).forward(x);
        // (..., in) -> (..., r) -> (..., out)
        Tensor update = loraB(adapter).forward(loraA(adapter).forward(h));
        return result.add(update.mul((float) specs.get(adapter).scaling()));
    }

    // ---------------------------------------------------------------- accessors

    /** {@code A [r, in]} of {@code adapter}, as a linear layer. */
    public Linear loraA(String adapter) {
        return dict("lora_A").module(requireAdapter(adapter), Linear.class);
    }

    /** {@code B [out, r]} of {@code adapter}, as a linear layer. */
    public Linear loraB(String adapter) {
        return dict("lora_B").module(requireAdapter(adapter), Linear.class);
    }

    /** The rank of {@code adapter}. */
    public int rank(String adapter) {
        return specs.get(requireAdapter(adapter)).r();
    }

    /** The alpha of {@code adapter}. */
    public double alpha(String adapter) {
        return specs.get(requireAdapter(adapter)).alpha();
    }

    /** {@code alpha / r} (or {@code alpha / sqrt(r)}) of {@code adapter}. */
    public double scaling(String adapter) {
        return specs.get(requireAdapter(adapter)).scaling();
    }

    // ---------------------------------------------------------------- adapters

    @Override
    void forget(String adapter) {
        specs.remove(adapter);
    }

    @Override
    public Map<String, Tensor> adapterTensors(String adapter) {
        return linearTensors(adapter, "lora_A", "lora_B");
    }

    /** Merges the active adapter into the base weight: {@code W += scaling · B·A}. */
    public void merge() {
        if (activeAdapter() == null) {
            throw new TesseraException("LoRA: no active adapter to merge");
        }
        mergeAdapter(activeAdapter());
    }

    /** Takes every merged adapter back out of the base weight. */
    public void unmerge() {
        unmergeAll();
    }

    public boolean isMerged() {
        return !mergedAdapters().isEmpty();
    }

    /** The update {@code scaling · B·A} as {@code [out, in]}. */
    public Tensor deltaWeight(String adapter) {
        try (var ng = Autograd.noGrad()) {
            return loraB(adapter).weight().matmul(loraA(adapter).weight()).mul((float) scaling(adapter));
        }
    }

    /** {@code W ± scaling · B·A}, through the base layer's {@link LinearLayer#addToWeight}. */
    @Override
    void fold(String adapter, int sign) {
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor delta = deltaWeight(adapter);
            baseLayer().addToWeight(sign == 1 ? delta : delta.neg());
        }
    }

    @Override
    protected String extraRepr() {
        StringBuilder sb = new StringBuilder("in=" + inFeatures() + ", out=" + outFeatures());
        specs.forEach((n, s) -> sb.append(", ").append(n).append(": r=").append(s.r()).append(" alpha=").append(s.alpha()));
        return sb.toString();
    }
}
