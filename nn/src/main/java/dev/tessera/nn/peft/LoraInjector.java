package dev.tessera.nn.peft;

import dev.tessera.nn.Conv1D;
import java.util.List;

/** PEFT's {@code LoraModel._create_and_replace}: a {@link LoraLinear} around every targeted linear layer. */
final class LoraInjector {
    private LoraInjector() {}

    /** Adds LoRA adapter {@code name}; returns the config as in effect (targets resolved, fan_in_fan_out as PEFT sets it). */
    static LoraConfig inject(Injection in, String name, LoraConfig c) {
        TargetModules targets = c.targetModules() != null ? c.targetModules() : Targets.loraDefault(in.model().config());
        List<String> paths = Targets.select(in.model(), new Targets.Rule(targets, c.excludeModules(), c.layersToTransform(),
                c.layersPattern(), c.modulesToSave()), "LoRA");
        boolean conv1d = false;
        for (String path : paths) {
            LoraLinear lora = in.wrap(path, LoraLinear.class, LoraLinear::new);
            conv1d |= lora.baseLayer() instanceof Conv1D;
            lora.addAdapter(name, c.rankFor(path), c.alphaFor(path), c.loraDropout(), c.useRslora(), c.initLoraWeights(),
                    in.model().dropoutRng());
        }
        in.saveModules(name, c.modulesToSave());
        // PEFT forces fan_in_fan_out for Conv1D (and off for nn.Linear) and records it in the config
        return c.withTargetModules(Injection.resolved(targets, paths)).withFanInFanOut(conv1d);
    }
}
