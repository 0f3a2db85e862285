package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Linear;
import dev.tessera.nn.Module;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code modules_to_save} for one module: trained in full with the adapter and saved
 * with it, while the original is kept so that disabling, deleting or unloading the adapter
 * brings it back. A {@link Linear} is replaced by a trainable copy (which unties an output head
 * tied to the embedding, as PEFT's copy does); any other module trains in place, its original
 * values kept as frozen copies.
 */
final class ModulesToSave {
    private final Module root;
    private final String path;
    private final Module original;
    private final Module trained;
    private final Map<String, Tensor> originalValues; // in-place modules only
    private Map<String, Tensor> stash; // trained values while the original is in use

    /** Takes over the module at dotted {@code path} of {@code root}. */
    ModulesToSave(Module root, String path) {
        this.root = root;
        this.path = path;
        this.original = root.getSubmodule(path);
        if (original instanceof Linear lin) {
            Tensor w = copy(lin.weight());
            Tensor b = lin.bias() == null ? null : copy(lin.bias());
            this.trained = new Linear(w, b);
            this.originalValues = null;
            root.setSubmodule(path, trained);
        } else {
            this.trained = original;
            this.originalValues = new LinkedHashMap<>();
            original.namedParameters().forEach((k, v) -> originalValues.put(k, copy(v).requiresGrad(false)));
        }
    }

    private static Tensor copy(Tensor t) {
        return Scope.unowned(() -> {
            try (var ng = Autograd.noGrad()) {
                return t.copy();
            }
        });
    }

    String path() {
        return path;
    }

    /** The module trained (and saved) in the model. */
    Module trained() {
        return trained;
    }

    /** Original tensors that are no longer part of the module tree (counted as PEFT counts its original_module). */
    List<Tensor> originalsOutsideTree() {
        return originalValues != null ? List.copyOf(originalValues.values()) : List.copyOf(original.namedParameters().values());
    }

    /** The original value of parameter {@code name} (a name inside the module). */
    Tensor originalTensor(String name) {
        return originalValues != null ? originalValues.get(name) : original.namedParameters().get(name);
    }

    void setTrainable(boolean on) {
        trained.requiresGrad(on);
    }

    /** Puts the original module (or values) in place of the trained ones, or back. */
    void useOriginal(boolean on) {
        if (on == (stash != null)) {
            return;
        }
        if (originalValues == null) {
            root.setSubmodule(path, on ? original : trained);
            stash = on ? Map.of() : null;
            return;
        }
        try (var ng = Autograd.noGrad()) {
            Map<String, Tensor> live = trained.namedParameters();
            if (on) {
                stash = new LinkedHashMap<>();
                live.forEach((k, v) -> {
                    stash.put(k, copy(v));
                    v.copyFrom(originalValues.get(k));
                });
            } else {
                live.forEach((k, v) -> v.copyFrom(stash.get(k)));
                stash.values().forEach(Tensor::release);
                stash = null;
            }
        }
    }

    /** Back to the original for good; the trained copy is freed. */
    void restore() {
        useOriginal(true);
        if (originalValues == null) {
            release(trained.namedParameters().values());
        } else {
            trained.requiresGrad(false);
            if (stash != null) {
                release(stash.values());
            }
            release(originalValues.values());
        }
    }

    /** Keeps the trained module for good (merge and unload); the kept originals are dropped. */
    void finish() {
        useOriginal(false);
        if (originalValues != null) {
            release(originalValues.values());
        }
    }

    private static void release(java.util.Collection<Tensor> ts) {
        for (Tensor t : new ArrayList<>(ts)) {
            t.zeroGrad();
            t.release();
        }
    }
}
