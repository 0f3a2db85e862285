package dev.tessera.training.optim;

import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW with PyTorch's semantics and defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight
 * decay per group). The update is one fused backend kernel per parameter; exp_avg and exp_avg_sq
 * are F32 tensors created at the first step of each parameter.
 */
public class AdamW extends OptimizerBase {
    private final double beta1, beta2, eps;
    /** exp_avg and exp_avg_sq per parameter key "group.index". */
    protected final Map<String, Tensor[]> state = new LinkedHashMap<>();

    public AdamW(List<ParamGroup> groups, double lr) {
        this(groups, lr, 0.9, 0.999, 1e-8);
    }

    public AdamW(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps) {
        if (lr < 0 || beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1 || eps < 0) {
            throw new TesseraException("AdamW: invalid hyper-parameters lr=" + lr + " betas=(" + beta1 + ", " + beta2 + ") eps=" + eps);
        }
        super(groups, lr);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    @Override
    public void step() {
        steps++;
        forEachParameterWithGrad(this::update);
    }

    /** Updates one parameter; subclasses may store the state differently (paged, 8-bit). */
    protected void update(String key, Tensor p, double weightDecay) {
        Tensor[] mv = state.computeIfAbsent(key, k -> Scope.unowned(() -> new Tensor[] {
            Tensor.zeros(DType.F32, p.device(), p.shape()), Tensor.zeros(DType.F32, p.device(), p.shape())}));
        step(p, mv[0], mv[1], weightDecay);
    }

    /** The fused AdamW update of one parameter with the given state tensors. */
    protected final void step(Tensor p, Tensor m, Tensor v, double weightDecay) {
        if (!p.isContiguous() || p.dtype() != DType.F32) {
            throw new TesseraException("AdamW updates contiguous F32 parameters; got " + p.dtype() + " " + Arrays.toString(p.shape()));
        }
        Tensor grad = p.grad();
        Backends.of(p.device()).adamw(p, grad, m, v, lr, beta1, beta2, eps, weightDecay, stepsOf(p));
    }

    /**
     * The fused 8-bit AdamW update of one parameter whose state is blockwise 8-bit codes: m in
     * {@code signedMap}'s codes, v in {@code unsignedMap}'s, one F32 absmax per {@code block}.
     */
    protected final void step8bit(Tensor p, Tensor grad, Tensor mCodes, Tensor mAbsmax, Tensor vCodes, Tensor vAbsmax,
                                  Tensor signedMap, Tensor unsignedMap, int block, double weightDecay) {
        Backends.of(p.device()).adamw8bit(p, grad, mCodes, mAbsmax, vCodes, vAbsmax, signedMap, unsignedMap, block,
                lr, beta1, beta2, eps, weightDecay, stepsOf(p));
    }

    /** The step count used for bias correction (shared by all parameters, as PyTorch after step 1). */
    protected long stepsOf(Tensor p) {
        return steps;
    }

    @Override
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("step", stepEntry());
        state.forEach((k, mv) -> {
            out.put("state." + k + ".exp_avg", mv[0]);
            out.put("state." + k + ".exp_avg_sq", mv[1]);
        });
        return out;
    }

    @Override
    public void loadStateDict(Map<String, Tensor> saved) {
        readStep(saved);
        state.clear();
        for (var e : saved.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("state.") && k.endsWith(".exp_avg")) {
                String key = k.substring(6, k.length() - 8);
                Tensor v = saved.get("state." + key + ".exp_avg_sq");
                if (v == null) {
                    throw new TesseraException("optimizer state: " + key + " has exp_avg but no exp_avg_sq");
                }
                Tensor m = e.getValue();
                state.put(key, Scope.unowned(() -> new Tensor[] {m.copy(), v.copy()}));
            }
        }
    }

    /** The device of parameter "group.index". */
    protected final Device deviceOf(String key) {
        int dot = key.indexOf('.');
        try {
            return groups().get(Integer.parseInt(key.substring(0, dot))).params()
                    .get(Integer.parseInt(key.substring(dot + 1))).device();
        } catch (RuntimeException e) {
            throw new TesseraException("optimizer state: no parameter for key " + key);
        }
    }

    @Override
    public long stateBytes() {
        long b = 0;
        for (Tensor[] mv : state.values()) {
            b += mv[0].numel() * 4 + mv[1].numel() * 4;
        }
        return b;
    }
}
