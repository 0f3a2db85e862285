package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.Conv1D;
import java.util.List;

/** PEFT's {@code IA3Model._create_and_replace}: an {@link Ia3Linear} around every targeted linear layer. */
final class Ia3Injector {
    private Ia3Injector() {}

    /** Adds IA3 adapter {@code name}; returns the config as in effect (targets resolved, fan_in_fan_out as PEFT sets it). */
    static Ia3Config inject(Injection in, String name, Ia3Config c) {
        TargetModules targets = c.targetModules() != null ? c.targetModules() : Targets.ia3Default(in.model().config());
        TargetModules ff = c.feedforwardModules() != null ? c.feedforwardModules() : Targets.ia3FeedforwardDefault(in.model().config());
        if (ff instanceof TargetModules.Names f && targets instanceof TargetModules.Names t && !t.names().containsAll(f.names())) {
            throw new TesseraException("IA3: feedforward_modules " + f.names() + " must be a subset of target_modules " + t.names());
        }
        List<String> paths = Targets.select(in.model(), new Targets.Rule(targets, c.excludeModules(), null, null, c.modulesToSave()), "IA3");
        boolean conv1d = false;
        for (String path : paths) {
            boolean feedforward = Targets.isFeedforward(ff, path);
            Ia3Linear ia3 = in.wrap(path, Ia3Linear.class, base -> new Ia3Linear(base, feedforward));
            if (ia3.isFeedforward() != feedforward) {
                throw new TesseraException("IA3: " + path + " is already a " + (ia3.isFeedforward() ? "feed-forward" : "non-feed-forward")
                        + " target of another adapter");
            }
            conv1d |= ia3.baseLayer() instanceof Conv1D;
            ia3.addAdapter(name, c.initIa3Weights(), in.model().dropoutRng());
        }
        in.saveModules(name, c.modulesToSave());
        return new Ia3Config(Injection.resolved(targets, paths), ff, c.excludeModules(), conv1d, c.modulesToSave(),
                c.initIa3Weights(), c.baseModelNameOrPath(), c.inferenceMode());
    }
}
