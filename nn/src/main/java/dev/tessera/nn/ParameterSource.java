package dev.tessera.nn;

import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;

/**
 * Where the parameters of a module come from while it is built: fresh random values, or the
 * tensors of a checkpoint (so a loaded model never allocates random weights first). Layers
 * ask for each parameter by its dotted name below {@link #under} prefixes.
 *
 * <pre>{@code
 * ParameterSource src = ParameterSource.random(new Rng(0));
 * Linear proj = new Linear(src.under("q_proj"), 64, 64, true, Init.normal(0.02));
 * }</pre>
 */
@FunctionalInterface
public interface ParameterSource {
    /**
     * The tensor for parameter {@code name} of {@code shape}, unowned (no scope frees it);
     * {@code init} says how to fill it when it is made fresh.
     */
    Tensor tensor(String name, int[] shape, Init init);

    /** This source with {@code prefix + "."} before every name. */
    default ParameterSource under(String prefix) {
        ParameterSource outer = this;
        return (name, shape, init) -> outer.tensor(prefix + "." + name, shape, init);
    }

    /** Fresh parameters drawn from {@code rng} in the order they are asked for. */
    static ParameterSource random(Rng rng) {
        return (name, shape, init) -> Scope.unowned(() -> init.create(rng, shape));
    }
}
