package dev.tessera.training.optim;

import dev.tessera.core.Tensor;
import java.util.List;
import java.util.Map;

/**
 * Updates parameters from their {@code .grad()}. Parameters come in {@link ParamGroup}s (weight
 * decay per group); the learning rate is set by the trainer's schedule before each step.
 *
 * <pre>{@code
 * Optimizer opt = new AdamW(ParamGroup.decayAllButBiasesAndNorms(model.namedParameters(), 0.01), 1e-3);
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * }</pre>
 */
public interface Optimizer {
    /** Applies one update to every parameter that has a gradient. */
    void step();

    /** Drops every parameter's gradient. */
    default void zeroGrad() {
        for (ParamGroup g : groups()) {
            for (Tensor p : g.params()) {
                p.zeroGrad();
            }
        }
    }

    List<ParamGroup> groups();

    double learningRate();

    void setLearningRate(double lr);

    /** Number of steps taken. */
    long steps();

    /** Optimizer state by stable key (for checkpoints); tensors are owned by the optimizer. */
    Map<String, Tensor> stateDict();

    /** Restores a {@link #stateDict()}. */
    void loadStateDict(Map<String, Tensor> state);

    /** Bytes of optimizer state currently allocated. */
    long stateBytes();
}
