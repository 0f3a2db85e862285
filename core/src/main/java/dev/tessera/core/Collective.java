package dev.tessera.core;

/**
 * The ranks of a data-parallel job and the few collective operations data parallelism needs, as
 * PyTorch's {@code torch.distributed} process group offers them: every rank calls the same
 * operations in the same order. {@link #singleProcess()} is the one-rank job (every operation is a
 * no-op); the Open MPI implementation is {@code dev.tessera.training.dist.MpiCollective}, and a
 * device library (NCCL) implements the same methods on device tensors.
 *
 * <pre>{@code
 * try (Collective c = MpiCollective.open(Duration.ofMinutes(10))) {   // or Collective.singleProcess()
 *     Tensor grad = ...;                               // contiguous F32, same shape on every rank
 *     c.allReduceSum(grad);                            // every rank now holds the sum
 *     grad.mulInPlace(1f / c.worldSize());
 * }
 * }</pre>
 *
 * A failed operation throws a {@link TesseraException}; a rank that cannot go on calls
 * {@link #abort} so that the others stop instead of waiting for it forever.
 */
public interface Collective extends AutoCloseable {

    /** This process's rank, 0 .. worldSize - 1; rank 0 is the one that writes files. */
    int rank();

    /** The number of ranks. */
    int worldSize();

    /** Whether this is rank 0. */
    default boolean isMain() {
        return rank() == 0;
    }

    /** Replaces a contiguous F32 tensor, element by element, with its sum over all ranks. */
    void allReduceSum(Tensor f32);

    /** Replaces each value with its sum over all ranks (counts and loss sums of a step). */
    void allReduceSum(double[] values);

    /** Copies {@code root}'s contiguous F32 tensor into the same tensor on every other rank. */
    void broadcast(Tensor f32, int root);

    /** Returns when every rank has called it. */
    void barrier();

    /** Stops every rank of the job with {@code exitCode} after printing {@code reason} on this one; does not return. */
    void abort(String reason, int exitCode);

    /** Leaves the job (MPI_Finalize); a no-op for one process. */
    @Override
    void close();

    /** The one-process job: rank 0 of 1, where a sum over ranks is the value itself. */
    static Collective singleProcess() {
        return SingleProcessCollective.INSTANCE;
    }
}
