package dev.tessera.training.dist;

import static dev.tessera.training.dist.mpi_h.*;

import dev.tessera.core.Collective;
import dev.tessera.core.DType;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link Collective} over Open MPI's {@code MPI_COMM_WORLD}, through the FFM bindings in
 * {@link mpi_h}. Errors return codes (MPI_ERRORS_RETURN) that become {@link TesseraException}s;
 * a collective that waits longer than the timeout stops the process (see {@link CollectiveWatchdog}).
 *
 * <pre>{@code
 * // started by: mpirun -np 2 java ... (or ./tessera train --nproc 2 ...)
 * try (Collective c = MpiCollective.open(Duration.ofMinutes(10))) {
 *     Tensor g = ...;
 *     c.allReduceSum(g);
 * }
 * }</pre>
 *
 * MPI is initialised with {@code MPI_THREAD_SERIALIZED}: any Java thread may call, one at a time.
 */
public final class MpiCollective implements Collective {
    /** Elements per MPI call: MPI counts are C ints. */
    private static final int MAX_COUNT = 1 << 30;

    private static MpiCollective open;

    private final int rank, size;
    private final CollectiveWatchdog watchdog;
    private final Thread stoppedByLauncher;
    private final AtomicBoolean closed = new AtomicBoolean(); // volatile: read by the shutdown hook while a call may hold the lock

    private MpiCollective(int rank, int size, Duration timeout) {
        this.rank = rank;
        this.size = size;
        this.watchdog = new CollectiveWatchdog(timeout, "rank " + rank);
        // mpirun stops the surviving ranks with SIGTERM when one fails: say so in one line.
        this.stoppedByLauncher = new Thread(() -> {
            if (!closed.get()) {
                System.err.println("tessera: rank " + rank + " of " + size + " stopped by mpirun (another rank failed or the job was interrupted)");
                System.err.flush();
            }
        });
        Runtime.getRuntime().addShutdownHook(stoppedByLauncher);
    }

    /**
     * Joins the MPI job this process was started in (MPI_Init_thread). Once per process.
     *
     * @param timeout how long a collective may wait for the other ranks before this process stops
     * @throws TesseraException with one line when libmpi is missing or MPI cannot start
     */
    public static synchronized MpiCollective open(Duration timeout) {
        if (open != null) {
            throw new TesseraException("MPI is already initialised in this process");
        }
        MpiLibrary.unavailableReason().ifPresent(reason -> {
            throw new TesseraException(reason);
        });
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment provided = arena.allocate(C_INT);
            check("MPI_Init_thread", MPI_Init_thread(MemorySegment.NULL, MemorySegment.NULL, MPI_THREAD_SERIALIZED(), provided));
            if (provided.get(C_INT, 0) < MPI_THREAD_SERIALIZED()) {
                throw new TesseraException("MPI_Init_thread: this Open MPI gives thread level " + provided.get(C_INT, 0)
                        + ", Tessera needs MPI_THREAD_SERIALIZED (2)");
            }
            check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(MPI_COMM_WORLD(), MPI_ERRORS_RETURN()));
            MemorySegment value = arena.allocate(C_INT);
            check("MPI_Comm_rank", MPI_Comm_rank(MPI_COMM_WORLD(), value));
            int rank = value.get(C_INT, 0);
            check("MPI_Comm_size", MPI_Comm_size(MPI_COMM_WORLD(), value));
            int size = value.get(C_INT, 0);
            open = new MpiCollective(rank, size, timeout);
            return open;
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return size;
    }

    @Override
    public synchronized void allReduceSum(Tensor f32) {
        MemorySegment data = hostF32(f32, "allReduceSum");
        for (long at = 0, n = f32.numel(); at < n; at += MAX_COUNT) {
            int count = (int) Math.min(MAX_COUNT, n - at);
            MemorySegment chunk = data.asSlice(at * 4, count * 4L);
            watchdog.begin("MPI_Allreduce");
            try {
                check("MPI_Allreduce", MPI_Allreduce(MPI_IN_PLACE(), chunk, count, MPI_FLOAT(), MPI_SUM(), MPI_COMM_WORLD()));
            } finally {
                watchdog.end();
            }
        }
    }

    @Override
    public synchronized void allReduceSum(double[] values) {
        if (values.length == 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate((long) values.length * 8, 8);
            MemorySegment.copy(values, 0, buf, ValueLayout.JAVA_DOUBLE, 0, values.length);
            watchdog.begin("MPI_Allreduce");
            try {
                check("MPI_Allreduce", MPI_Allreduce(MPI_IN_PLACE(), buf, values.length, MPI_DOUBLE(), MPI_SUM(), MPI_COMM_WORLD()));
            } finally {
                watchdog.end();
            }
            MemorySegment.copy(buf, ValueLayout.JAVA_DOUBLE, 0, values, 0, values.length);
        }
    }

    @Override
    public synchronized void broadcast(Tensor f32, int root) {
        if (root < 0 || root >= size) {
            throw new TesseraException("broadcast: root " + root + " is not a rank of " + size);
        }
        MemorySegment data = hostF32(f32, "broadcast");
        for (long at = 0, n = f32.numel(); at < n; at += MAX_COUNT) {
            int count = (int) Math.min(MAX_COUNT, n - at);
            watchdog.begin("MPI_Bcast");
            try {
                check("MPI_Bcast", MPI_Bcast(data.asSlice(at * 4, count * 4L), count, MPI_FLOAT(), root, MPI_COMM_WORLD()));
            } finally {
                watchdog.end();
            }
        }
    }

    @Override
    public synchronized void barrier() {
        watchdog.begin("MPI_Barrier");
        try {
            check("MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD()));
        } finally {
            watchdog.end();
        }
    }

    @Override
    public void abort(String reason, int exitCode) {
        System.err.println(reason);
        System.err.flush();
        closed.set(true); // the shutdown hook's line would repeat the reason
        MPI_Abort(MPI_COMM_WORLD(), exitCode);
        Runtime.getRuntime().halt(exitCode); // MPI_Abort does not return; in case it does
    }

    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        watchdog.close();
        try {
            Runtime.getRuntime().removeShutdownHook(stoppedByLauncher);
        } catch (IllegalStateException shuttingDown) {
            // already exiting: nothing to remove
        }
        check("MPI_Finalize", MPI_Finalize());
    }

    @Override
    public String toString() {
        return "MPI rank " + rank + " of " + size;
    }

    private MemorySegment hostF32(Tensor t, String op) {
        if (t.dtype() != DType.F32 || !t.isContiguous()) {
            throw new TesseraException(op + ": collective operations take contiguous F32 tensors, got " + t.dtype()
                    + (t.isContiguous() ? "" : " (not contiguous)"));
        }
        if (!t.device().isCpu()) {
            throw new TesseraException(op + ": the MPI collective reduces host memory; a tensor on " + t.device()
                    + " needs a device collective (NCCL)");
        }
        return t.dataSegment();
    }

    private static void check(String function, int code) {
        if (code != MPI_SUCCESS()) {
            throw new TesseraException(function + " failed: " + errorString(code));
        }
    }

    private static String errorString(int code) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(MPI_MAX_ERROR_STRING());
            MemorySegment length = arena.allocate(C_INT);
            if (MPI_Error_string(code, text, length) != MPI_SUCCESS()) {
                return "MPI error " + code;
            }
            int n = Math.max(0, Math.min(length.get(C_INT, 0), MPI_MAX_ERROR_STRING()));
            return new String(text.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8) + " (MPI error " + code + ")";
        }
    }
}
