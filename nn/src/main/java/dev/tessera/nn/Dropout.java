package dev.tessera.nn;

import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;

/** Inverted dropout, active only in training mode; draws its masks from a shared, seeded {@link Rng}. */
public final class Dropout extends Module {
    private final float p;
    private final Rng rng;

    public Dropout(float p, Rng rng) {
        if (!(p >= 0 && p < 1)) {
            throw new TesseraException("dropout probability must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = rng;
    }

    public Tensor forward(Tensor x) {
        return isTraining() && p > 0 ? x.dropout(p, rng) : x;
    }

    /** Whether {@link #forward} changes anything right now. */
    public boolean isActive() {
        return isTraining() && p > 0;
    }

    @Override
    protected String extraRepr() {
        return "p=" + p;
    }
}
