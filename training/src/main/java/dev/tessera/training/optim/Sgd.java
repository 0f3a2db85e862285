package dev.tessera.training.optim;

import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SGD as PyTorch: g += wd·p; buf = momentum·buf + (1 − dampening)·g (buf = g at the first step);
 * g = g + momentum·buf with Nesterov, else buf; p −= lr·g.
 */
public final class Sgd extends OptimizerBase {
    private final double momentum, dampening;
    private final boolean nesterov;
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();

    public Sgd(List<ParamGroup> groups, double lr) {
        this(groups, lr, 0, 0, false);
    }

    public Sgd(List<ParamGroup> groups, double lr, double momentum, double dampening, boolean nesterov) {
        if (lr < 0 || momentum < 0) {
            throw new TesseraException("SGD: invalid lr=" + lr + " momentum=" + momentum);
        }
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new TesseraException("SGD: Nesterov momentum requires momentum > 0 and dampening 0");
        }
        super(groups, lr);
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
    }

    @Override
    public void step() {
        steps++;
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            forEachParameterWithGrad(this::update);
        }
    }

    private void update(String key, Tensor p, double weightDecay) {
        Tensor g = p.grad();
        if (weightDecay != 0) {
            g = g.add(p.mul((float) weightDecay));
        }
        if (momentum != 0) {
            Tensor buf = buffers.get(key);
            if (buf == null) {
                Tensor init = g;
                buf = Scope.unowned(init::copy);
                buffers.put(key, buf);
            } else {
                buf.mulInPlace((float) momentum).addInPlace(g, (float) (1 - dampening));
            }
            g = nesterov ? g.add(buf.mul((float) momentum)) : buf;
        }
        p.addInPlace(g, (float) -lr);
    }

    @Override
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("step", stepEntry());
        buffers.forEach((k, b) -> out.put("state." + k + ".momentum_buffer", b));
        return out;
    }

    @Override
    public void loadStateDict(Map<String, Tensor> state) {
        readStep(state);
        buffers.clear();
        state.forEach((k, t) -> {
            if (k.startsWith("state.") && k.endsWith(".momentum_buffer")) {
                buffers.put(k.substring(6, k.length() - 16), Scope.unowned(t::copy));
            }
        });
    }

    @Override
    public long stateBytes() {
        long b = 0;
        for (Tensor t : buffers.values()) {
            b += t.numel() * 4;
        }
        return b;
    }
}
