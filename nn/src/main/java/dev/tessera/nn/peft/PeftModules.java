package dev.tessera.nn.peft;

import dev.tessera.core.Device;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Module;

/** Small facts about modules the adapters need. */
final class PeftModules {
    private PeftModules() {}

    /** Where the module's first parameter lives (CPU when it has none). */
    static Device deviceOf(Module m) {
        for (Tensor t : m.namedParameters().values()) {
            return t.device();
        }
        return Device.CPU;
    }
}
