package dev.tessera.nn.peft;

import java.util.List;

/** A Houlsby {@link BottleneckLinear} on the output of every targeted projection. */
final class BottleneckInjector {
    private BottleneckInjector() {}

    /** Adds bottleneck adapter {@code name}; returns the config with its targets resolved. */
    static BottleneckAdapterConfig inject(Injection in, String name, BottleneckAdapterConfig c) {
        TargetModules targets = c.targetModules() != null ? c.targetModules() : Targets.bottleneckDefault(in.model().config());
        List<String> paths = Targets.select(in.model(), new Targets.Rule(targets, null, null, null, null), "bottleneck adapter");
        for (String path : paths) {
            in.wrap(path, BottleneckLinear.class, BottleneckLinear::new)
                    .addAdapter(name, c.reductionFactor(), BottleneckAdapterConfig.activation(c.nonLinearity()), in.model().dropoutRng());
        }
        return c.withTargetModules(targets);
    }
}
