package dev.tessera.core;

/**
 * Mixed precision for matrix products, like {@code torch.autocast}: while open on this thread,
 * {@link Tensor#matmul} rounds its operands and its result to BF16 or F16 (accumulating in F32,
 * as tensor cores do) while parameters stay F32 masters. Gradients pass through the rounding
 * unchanged. On the CPU this reproduces the numerics of low-precision training, not its speed.
 *
 * <pre>{@code
 * try (var ac = Autocast.enable(DType.BF16)) {
 *     loss = model.loss(ids, labels);
 * }
 * loss.backward();
 * }</pre>
 */
public final class Autocast implements AutoCloseable {
    private static final ThreadLocal<DType> CURRENT = new ThreadLocal<>();
    private final DType previous;

    private Autocast(DType previous) {
        this.previous = previous;
    }

    /** Turns autocast on for BF16 or F16 until closed. */
    public static Autocast enable(DType dtype) {
        if (dtype != DType.BF16 && dtype != DType.F16) {
            throw new TesseraException("autocast supports BF16 and F16, got " + dtype);
        }
        DType prev = CURRENT.get();
        CURRENT.set(dtype);
        return new Autocast(prev);
    }

    /** The active low-precision dtype, or null. */
    public static DType current() {
        return CURRENT.get();
    }

    /** x rounded to the active dtype and back to F32 (x itself when autocast is off). */
    static Tensor round(Tensor x) {
        DType dt = CURRENT.get();
        return dt == null ? x : x.cast(dt).cast(DType.F32);
    }

    @Override
    public void close() {
        CURRENT.set(previous);
    }
}
