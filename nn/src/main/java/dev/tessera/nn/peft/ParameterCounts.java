package dev.tessera.nn.peft;

import dev.tessera.core.Tensor;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code get_nb_trainable_parameters}. Each parameter is counted by the module that owns
 * it: a linear layer says how many values a parameter holds ({@link LinearLayer#valueCount},
 * which a packed 4-bit layer answers with two per byte); any other module, its elements.
 * Originals that modules_to_save keep aside count too, as PEFT's wrapper holds both.
 */
final class ParameterCounts {
    private ParameterCounts() {}

    /** {trainable, all}. */
    static long[] of(PeftModel peft) {
        Map<String, Module> modules = peft.namedModules();
        Map<String, Tensor> parameters = peft.namedParameters();
        long trainable = 0, all = 0;
        for (var e : parameters.entrySet()) {
            String name = e.getKey();
            Module owner = modules.get(name.substring(0, Math.max(0, name.lastIndexOf('.'))));
            long n = owner instanceof LinearLayer lin ? lin.valueCount(e.getValue()) : e.getValue().numel();
            all += n;
            trainable += e.getValue().requiresGrad() ? n : 0;
        }
        Set<Tensor> inTree = Collections.newSetFromMap(new IdentityHashMap<>());
        inTree.addAll(parameters.values());
        for (ModulesToSave m : peft.savedModules().all()) {
            for (Tensor t : m.originalsOutsideTree()) {
                all += inTree.add(t) ? t.numel() : 0;
            }
        }
        return new long[] {trainable, all};
    }
}
