package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import java.util.List;
import java.util.function.Function;

/**
 * What an injector changes: the model whose layers it wraps, the modules_to_save of every
 * adapter, and the prompt encoders ({@code prompt_encoder.<adapter>}). One per {@link PeftModel}.
 */
record Injection(CausalLM model, SavedModules savedModules, AdapterDict prompts) {
    /** The wrapper of {@code type} at {@code path}, made around the linear layer there when it is not one yet. */
    <T extends TunerLayer> T wrap(String path, Class<T> type, Function<LinearLayer, T> make) {
        Module m = model.getSubmodule(path);
        if (type.isInstance(m)) {
            return type.cast(m);
        }
        if (m instanceof TunerLayer other) {
            throw new TesseraException(path + " already carries a " + other.getClass().getSimpleName()
                    + " adapter; one adapter method per layer");
        }
        T wrapper = make.apply((LinearLayer) m);
        model.setSubmodule(path, wrapper);
        return wrapper;
    }

    /** Takes over {@code adapter}'s modules_to_save. */
    void saveModules(String adapter, List<String> names) {
        savedModules.add(model, adapter, names);
    }

    /** A targeted layer list as written back into the config: "all-linear" becomes the layers it chose. */
    static TargetModules resolved(TargetModules targets, List<String> paths) {
        return targets instanceof TargetModules.AllLinear ? TargetModules.of(paths) : targets;
    }
}
