package dev.tessera.nn.peft;

import dev.tessera.core.Tensor;
import dev.tessera.nn.Module;
import java.util.ArrayList;
import java.util.List;

/**
 * PyTorch's {@code ModuleDict} / {@code ParameterDict} keyed by adapter name, so parameter names
 * read as PEFT's ({@code lora_A.default.weight}, {@code ia3_l.default}). Modules cannot drop a
 * child, so deleting an adapter builds a new dict without it.
 */
final class AdapterDict extends Module {
    AdapterDict() {}

    void putModule(String adapter, Module m) {
        addModule(adapter, m);
    }

    void putParameter(String adapter, Tensor t) {
        addParameter(adapter, t);
    }

    <T> T module(String adapter, Class<T> type) {
        return child(adapter, type);
    }

    Tensor parameter(String adapter) {
        return localParameter(adapter);
    }

    boolean contains(String adapter) {
        return namedChildren().containsKey(adapter) || localParameter(adapter) != null;
    }

    /** The adapter names held, in insertion order. */
    List<String> names() {
        List<String> out = new ArrayList<>(namedChildren().keySet());
        for (String p : namedParameters().keySet()) {
            if (!p.contains(".")) {
                out.add(p);
            }
        }
        return out;
    }

    /** A copy holding every entry but {@code adapter}. */
    AdapterDict without(String adapter) {
        AdapterDict out = new AdapterDict();
        for (var e : namedChildren().entrySet()) {
            if (!e.getKey().equals(adapter)) {
                out.addModule(e.getKey(), e.getValue());
            }
        }
        for (var e : namedParameters().entrySet()) {
            if (!e.getKey().contains(".") && !e.getKey().equals(adapter)) {
                boolean trainable = e.getValue().requiresGrad();
                out.addParameter(e.getKey(), e.getValue());
                e.getValue().requiresGrad(trainable); // registering marks it trainable; keep it as it was
            }
        }
        return out;
    }
}
