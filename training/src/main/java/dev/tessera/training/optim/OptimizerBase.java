package dev.tessera.training.optim;

import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.List;
import java.util.Map;

/** What every optimizer keeps: its parameter groups, the current learning rate and the step count. */
abstract class OptimizerBase implements Optimizer {
    private final List<ParamGroup> groups;
    protected double lr;
    protected long steps;

    OptimizerBase(List<ParamGroup> groups, double lr) {
        this.groups = List.copyOf(groups);
        this.lr = lr;
    }

    @Override
    public final List<ParamGroup> groups() {
        return groups;
    }

    @Override
    public final double learningRate() {
        return lr;
    }

    @Override
    public final void setLearningRate(double lr) {
        this.lr = lr;
    }

    @Override
    public final long steps() {
        return steps;
    }

    /** One parameter's update, given its state key "group.index" and its group's weight decay. */
    @FunctionalInterface
    interface ParameterUpdate {
        void apply(String key, Tensor parameter, double weightDecay);
    }

    /** Applies {@code update} to every parameter that has a gradient, group by group, in order. */
    final void forEachParameterWithGrad(ParameterUpdate update) {
        for (int gi = 0; gi < groups.size(); gi++) {
            ParamGroup g = groups.get(gi);
            for (int i = 0; i < g.params().size(); i++) {
                Tensor p = g.params().get(i);
                if (p.grad() != null) {
                    update.apply(gi + "." + i, p, g.weightDecay());
                }
            }
        }
    }

    /** The "step" entry every state dict starts with. */
    final Tensor stepEntry() {
        return Tensor.ofLongs(new long[] {steps}, 1);
    }

    /** Restores the step count from a state dict. */
    final void readStep(Map<String, Tensor> state) {
        Tensor s = state.get("step");
        if (s == null) {
            throw new TesseraException("optimizer state: missing 'step'");
        }
        steps = s.toLongArray()[0];
    }
}
