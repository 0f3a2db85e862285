package dev.tessera.nn.peft;

import java.util.List;

/**
 * Which modules an adapter wraps, in PEFT's three forms ({@code target_modules} in
 * {@code adapter_config.json}):
 * <ul>
 *   <li>{@link Names}: a module matches when its full dotted name equals an entry or ends with
 *       {@code "." + entry} ({@code "c_attn"} matches {@code transformer.h.0.attn.c_attn});</li>
 *   <li>{@link Regex}: a single string, matched against the whole name;</li>
 *   <li>{@link AllLinear}: PEFT's {@code "all-linear"}, every linear layer but the output head.</li>
 * </ul>
 *
 * <pre>{@code
 * LoraConfig qv = LoraConfig.defaults().withTargetModules(TargetModules.of("q_proj", "v_proj"));
 * LoraConfig attn = LoraConfig.defaults().withTargetModules(TargetModules.regex(".*\\.self_attn\\.(q|k|v|o)_proj"));
 * LoraConfig all = LoraConfig.defaults().withTargetModules(TargetModules.allLinear());
 * }</pre>
 */
public sealed interface TargetModules {
    /** Exact names or name suffixes. */
    record Names(List<String> names) implements TargetModules {
        public Names {
            names = List.copyOf(names);
        }
    }

    /** A regular expression the full module name must match entirely. */
    record Regex(String pattern) implements TargetModules {}

    /** Every linear layer except the output head. */
    record AllLinear() implements TargetModules {}

    static TargetModules of(String... names) {
        return new Names(List.of(names));
    }

    static TargetModules of(List<String> names) {
        return new Names(names);
    }

    static TargetModules regex(String pattern) {
        return new Regex(pattern);
    }

    static TargetModules allLinear() {
        return new AllLinear();
    }
}
