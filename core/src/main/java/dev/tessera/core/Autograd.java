package dev.tessera.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The define-by-run engine: grad-mode switch and the reverse walk behind {@link Tensor#backward()}. */
public final class Autograd {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.TRUE);

    private Autograd() {}

    /** Whether ops record the tape on this thread. */
    public static boolean isGradEnabled() {
        return ENABLED.get();
    }

    /** A region where no op is recorded: {@code try (var ng = Autograd.noGrad()) { ... }}. */
    public static GradMode noGrad() {
        return setGradEnabled(false);
    }

    /** Sets grad mode until the returned handle is closed (which restores the previous mode). */
    public static GradMode setGradEnabled(boolean enabled) {
        boolean previous = ENABLED.get();
        ENABLED.set(enabled);
        return new GradMode(previous);
    }

    /** Restores the previous grad mode when closed. */
    public static final class GradMode implements AutoCloseable {
        private final boolean previous;

        private GradMode(boolean previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            ENABLED.set(previous);
        }
    }

    /**
     * The local gradient rule of an op: the gradients of its inputs, in the order they were
     * recorded (null where an input needs none, see {@link #needsGrad}), from its output's.
     */
    @FunctionalInterface
    public interface BackwardRule {
        Tensor[] apply(Tensor gradOutput);
    }

    /**
     * Records {@code output} as the result of op {@code name} on {@code inputs}, with {@code rule}
     * as its backward; returns {@code output}. Every differentiable op records itself this way:
     * core's own and those written outside core, e.g. a fused 4-bit matmul. Nothing is recorded
     * when grad mode is off or no input requires grad; {@link #needsGrad} tells the rule which
     * gradients to compute.
     *
     * <pre>{@code
     * Tensor y = myKernel(x);
     * return Autograd.record("my_op", y, g -> new Tensor[] {Autograd.needsGrad(x) ? myKernelBackward(g) : null}, x);
     * }</pre>
     */
    public static Tensor record(String name, Tensor output, BackwardRule rule, Tensor... inputs) {
        if (!isGradEnabled()) {
            return output;
        }
        for (Tensor in : inputs) {
            if (needsGrad(in)) {
                return attach(name, output, rule, inputs);
            }
        }
        return output;
    }

    /** Puts {@code output} on the tape unconditionally; only {@link #record} and {@link #checkpoint} decide to. */
    private static Tensor attach(String name, Tensor output, BackwardRule rule, Tensor... inputs) {
        output.setGradFn(new Node(name, rule, inputs));
        return output;
    }

    /**
     * Activation recomputation (what users call gradient checkpointing; "checkpoint" in this
     * codebase names trainer checkpoints only): runs {@code block} on {@code x} without recording the tape, and
     * recomputes it with the tape during backward, so the block's activations are not kept between
     * forward and backward. Parameters used inside the block receive their gradients during that
     * recomputation. {@code rng} (may be null) is the block's dropout generator: its state is
     * replayed so the recomputation draws the same masks.
     */
    public static Tensor recompute(java.util.function.UnaryOperator<Tensor> block, Tensor x, Rng rng) {
        if (!isGradEnabled()) {
            return block.apply(x);
        }
        long[] rngBefore = rng == null ? null : rng.state();
        Tensor out;
        // the block's temporaries live in their own scope, freed at once: only the output is kept
        try (var ng = noGrad(); var scope = Scope.open()) {
            out = scope.keep(block.apply(x));
        }
        // recorded even when x needs no gradient: parameters inside the block may
        return attach("checkpoint", out.detach(), g -> {
            Tensor input = x.detach().requiresGrad(x.requiresGrad());
            // blocks are recomputed last to first: replay this block's draws, then put the stream back
            long[] rngNow = rng == null ? null : rng.state();
            if (rng != null) {
                rng.setState(rngBefore);
            }
            try (var on = setGradEnabled(true); var scope = Scope.open()) {
                Tensor recomputed = block.apply(input);
                if (recomputed.requiresGrad()) {
                    recomputed.backward(g);
                }
            }
            if (rng != null) {
                rng.setState(rngNow);
            }
            Tensor gx = input.grad();
            if (gx == null) {
                return new Tensor[] {null};
            }
            Tensor owned = gx.copy();   // into the caller's scope; the leaf's own (unowned) gradient is freed
            input.zeroGrad();
            return new Tensor[] {owned};
        }, x);
    }

    /** True when gradients flow to {@code t} (it requires grad and grad mode is on). */
    public static boolean needsGrad(Tensor t) {
        return t != null && t.requiresGrad();
    }

    /**
     * Walks the tape in reverse. Gradient temporaries are freed as soon as no pending gradient
     * uses their storage (counted per storage, since rules pass gradients through as views), so
     * backward does not hold every intermediate gradient until the step's scope closes. Storage
     * that belongs to the forward graph or to the caller's root gradient is never freed here.
     */
    static void backward(Tensor root, Tensor rootGrad) {
        List<Tensor> order = reverseTopologicalOrder(root);
        Set<Storage> keep = Collections.newSetFromMap(new IdentityHashMap<>());
        keep.add(rootGrad.storage());
        for (Tensor t : order) {
            keep.add(t.storage());
            for (Tensor in : t.gradFn().inputs) {
                if (in != null) {
                    keep.add(in.storage());
                }
            }
        }
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        Map<Storage, Integer> uses = new IdentityHashMap<>();
        pending.put(root, rootGrad);
        uses.merge(rootGrad.storage(), 1, Integer::sum);
        List<Storage> candidates = new ArrayList<>();
        try (var ignored = setGradEnabled(false)) {
            for (Tensor t : order) {
                Tensor g = pending.remove(t);
                if (g == null) {
                    continue;
                }
                uses.merge(g.storage(), -1, Integer::sum);
                candidates.add(g.storage());
                Node node = t.gradFn();
                Tensor[] grads = node.backward(g);
                for (int i = 0; i < node.inputs.length; i++) {
                    Tensor input = node.inputs[i];
                    Tensor gi = grads[i];
                    if (input == null || gi == null || !input.requiresGrad()) {
                        continue;
                    }
                    if (!java.util.Arrays.equals(gi.shape(), input.shape())) {
                        throw new IllegalStateException("gradient of " + node.op + " input " + i + " has shape "
                                + Shapes.str(gi.shape()) + ", expected " + Shapes.str(input.shape()));
                    }
                    candidates.add(gi.storage());
                    if (input.gradFn() == null) {
                        input.accumulateGrad(gi);
                    } else {
                        Tensor old = pending.get(input);
                        Tensor now = old == null ? gi : old.add(gi);
                        if (old != null) {
                            uses.merge(old.storage(), -1, Integer::sum);
                            candidates.add(old.storage());
                        }
                        pending.put(input, now);
                        uses.merge(now.storage(), 1, Integer::sum);
                    }
                }
                for (Storage s : candidates) {
                    if (uses.getOrDefault(s, 0) <= 0 && !keep.contains(s)) {
                        uses.remove(s);
                        s.release();
                    }
                }
                candidates.clear();
            }
        }
    }

    /** Non-leaf tensors reachable from root, each after every tensor that uses it. */
    private static List<Tensor> reverseTopologicalOrder(Tensor root) {
        List<Tensor> postOrder = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>(); // {tensor, next input index}
        if (root.gradFn() != null) {
            stack.push(new Object[] {root, 0});
            visited.add(root);
        }
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            Tensor[] inputs = t.gradFn().inputs;
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.requiresGrad() && in.gradFn() != null && visited.add(in)) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                postOrder.add(t);
            }
        }
        Collections.reverse(postOrder);
        return postOrder;
    }
}
