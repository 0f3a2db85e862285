package dev.tessera.training.optim;

import dev.tessera.core.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters sharing a weight decay, with their names (for state keys and messages).
 *
 * @param names       parameter names, parallel to {@code params}
 * @param params      trainable tensors
 * @param weightDecay decoupled weight decay of this group
 */
public record ParamGroup(List<String> names, List<Tensor> params, double weightDecay) {
    public ParamGroup {
        if (names.size() != params.size()) {
            throw new IllegalArgumentException("names and params differ in length");
        }
        names = List.copyOf(names);
        params = List.copyOf(params);
    }

    /**
     * The Hugging Face Trainer's grouping: decay on every trainable weight except biases and norm
     * weights (1-D tensors and names containing "norm" or "ln_"), which get none.
     */
    public static List<ParamGroup> decayAllButBiasesAndNorms(Map<String, Tensor> named, double weightDecay) {
        Map<String, Tensor> decay = new LinkedHashMap<>(), noDecay = new LinkedHashMap<>();
        for (var e : named.entrySet()) {
            if (!e.getValue().requiresGrad()) {
                continue;
            }
            String n = e.getKey();
            boolean exempt = e.getValue().dim() < 2 || n.endsWith(".bias") || n.contains("norm") || n.contains("ln_");
            (exempt ? noDecay : decay).put(n, e.getValue());
        }
        List<ParamGroup> groups = new ArrayList<>();
        if (!decay.isEmpty()) {
            groups.add(new ParamGroup(List.copyOf(decay.keySet()), List.copyOf(decay.values()), weightDecay));
        }
        if (!noDecay.isEmpty()) {
            groups.add(new ParamGroup(List.copyOf(noDecay.keySet()), List.copyOf(noDecay.values()), 0));
        }
        return groups;
    }

    /** One group of every trainable parameter with the same decay. */
    public static List<ParamGroup> all(Map<String, Tensor> named, double weightDecay) {
        Map<String, Tensor> trainable = new LinkedHashMap<>();
        named.forEach((n, t) -> {
            if (t.requiresGrad()) {
                trainable.put(n, t);
            }
        });
        return List.of(new ParamGroup(List.copyOf(trainable.keySet()), List.copyOf(trainable.values()), weightDecay));
    }
}
