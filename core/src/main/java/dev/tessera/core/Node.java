package dev.tessera.core;

/**
 * One recorded operation on the autograd tape: its inputs and the local rule that turns the
 * gradient of its output into gradients of its inputs. Built by the ops in {@link Tensor} and
 * walked in reverse topological order by {@link Autograd}.
 */
final class Node {
    /** Gradients of the inputs (null where an input needs none) given the output gradient. */
    @FunctionalInterface
    interface BackwardRule {
        Tensor[] apply(Tensor gradOutput);
    }

    final String op;
    final Tensor[] inputs;
    private BackwardRule rule;

    Node(String op, BackwardRule rule, Tensor... inputs) {
        this.op = op;
        this.rule = rule;
        this.inputs = inputs;
    }

    /** Whether input {@code i} needs a gradient; rules skip the work (e.g. a weight-gradient GEMM) when not. */
    boolean needs(int i) {
        return inputs[i] != null && inputs[i].requiresGrad();
    }

    Tensor[] backward(Tensor gradOutput) {
        if (rule == null) {
            throw new TesseraException("backward through '" + op + "' a second time: its saved tensors were freed after the first");
        }
        Tensor[] grads = rule.apply(gradOutput);
        rule = null; // frees what the rule captured
        return grads;
    }
}
