package dev.tessera.core;

/**
 * One recorded operation on the autograd tape: its inputs and the local rule that turns the
 * gradient of its output into gradients of its inputs. Made only by {@link Autograd#record} and
 * walked in reverse topological order by {@link Autograd}.
 */
final class Node {
    final String op;
    final Tensor[] inputs;
    private Autograd.BackwardRule rule;

    Node(String op, Autograd.BackwardRule rule, Tensor... inputs) {
        this.op = op;
        this.rule = rule;
        this.inputs = inputs;
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
