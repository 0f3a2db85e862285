package dev.tessera.core;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Deterministic release of tensor memory. Every tensor allocated while a scope is open on this
 * thread belongs to the innermost scope; closing the scope releases all of them except those
 * {@link #keep kept}, which move to the enclosing scope (or become unowned at the outermost one).
 *
 * <pre>{@code
 * for (int step = 0; step < steps; step++) {
 *     try (var scope = Scope.open()) {
 *         Tensor loss = model.forward(batch).crossEntropy(labels);
 *         loss.backward();          // parameter .grad tensors are unowned: they outlive the scope
 *         optimizer.step();
 *         lossValue = loss.item();  // read before the scope frees it
 *     }
 * }
 * }</pre>
 *
 * Tensors made with no scope open (parameters, gradients, optimizer state) are unowned and live
 * until {@link Tensor#release()} is called on them.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Set<Storage> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
    }

    /** Opens a scope nested in the current one. */
    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** Runs {@code body} with no scope open, so what it allocates is unowned. */
    public static <T> T unowned(Supplier<T> body) {
        Scope saved = CURRENT.get();
        CURRENT.set(null);
        try {
            return body.get();
        } finally {
            CURRENT.set(saved);
        }
    }

    static void register(Storage storage) {
        Scope s = CURRENT.get();
        if (s != null) {
            s.owned.add(storage);
        }
    }

    /** Moves the tensor's storage out of this scope, to the enclosing one; returns the tensor. */
    public <T extends Tensor> T keep(T tensor) {
        Storage storage = tensor.storage();
        if (owned.remove(storage) && parent != null) {
            parent.owned.add(storage);
        }
        return tensor;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Storage s : owned) {
            s.release();
        }
        owned.clear();
        if (CURRENT.get() == this) {
            CURRENT.set(parent);
        } else {
            throw new IllegalStateException("scopes closed out of order");
        }
    }
}
