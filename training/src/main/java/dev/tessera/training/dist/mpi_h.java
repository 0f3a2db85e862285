// Hand-written in the shape jextract generates (see scripts/jextract-mpi.sh); keep it regenerable.
package dev.tessera.training.dist;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The few functions of Open MPI's {@code mpi.h} ({@code libmpi.so.40}) that data-parallel training
 * calls. Every function returns the raw MPI error code ({@link #MPI_SUCCESS()} is 0). Open MPI's
 * predefined handles are addresses of exported globals ({@code #define MPI_COMM_WORLD
 * ((MPI_Comm) &ompi_mpi_comm_world)}): {@code ompi_mpi_comm_world$segment()} and friends are those
 * addresses, and {@link #MPI_COMM_WORLD()}, {@link #MPI_FLOAT()}, ... spell the macros.
 */
@SuppressWarnings({"unused", "checkstyle:TypeName"})
public final class mpi_h {
    private mpi_h() {}

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfDouble C_DOUBLE = ValueLayout.JAVA_DOUBLE;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    /**
     * {@snippet lang=c :
     * #define MPI_SUCCESS 0
     * }
     */
    public static int MPI_SUCCESS() {
        return 0;
    }

    /**
     * {@snippet lang=c :
     * #define MPI_MAX_ERROR_STRING 256
     * }
     */
    public static int MPI_MAX_ERROR_STRING() {
        return 256;
    }

    /**
     * {@snippet lang=c :
     * enum MPI_THREAD_SINGLE = 0
     * }
     */
    public static int MPI_THREAD_SINGLE() {
        return 0;
    }

    /**
     * {@snippet lang=c :
     * enum MPI_THREAD_FUNNELED = 1
     * }
     */
    public static int MPI_THREAD_FUNNELED() {
        return 1;
    }

    /**
     * {@snippet lang=c :
     * enum MPI_THREAD_SERIALIZED = 2
     * }
     */
    public static int MPI_THREAD_SERIALIZED() {
        return 2;
    }

    /**
     * {@snippet lang=c :
     * enum MPI_THREAD_MULTIPLE = 3
     * }
     */
    public static int MPI_THREAD_MULTIPLE() {
        return 3;
    }

    private static final class MPI_Init_thread {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER,
            mpi_h.C_INT,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Init_thread");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Init_thread", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
     * }
     */
    public static FunctionDescriptor MPI_Init_thread$descriptor() {
        return MPI_Init_thread.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
     * }
     */
    public static MethodHandle MPI_Init_thread$handle() {
        return MPI_Init_thread.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
     * }
     */
    public static MemorySegment MPI_Init_thread$address() {
        return MPI_Init_thread.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
     * }
     */
    public static int MPI_Init_thread(MemorySegment argc, MemorySegment argv, int required, MemorySegment provided) {
        var mh$ = MPI_Init_thread.HANDLE;
        try {
            return (int) mh$.invokeExact(argc, argv, required, provided);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Initialized {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Initialized");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Initialized", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Initialized(int *flag)
     * }
     */
    public static FunctionDescriptor MPI_Initialized$descriptor() {
        return MPI_Initialized.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Initialized(int *flag)
     * }
     */
    public static MethodHandle MPI_Initialized$handle() {
        return MPI_Initialized.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Initialized(int *flag)
     * }
     */
    public static MemorySegment MPI_Initialized$address() {
        return MPI_Initialized.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Initialized(int *flag)
     * }
     */
    public static int MPI_Initialized(MemorySegment flag) {
        var mh$ = MPI_Initialized.HANDLE;
        try {
            return (int) mh$.invokeExact(flag);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Finalized {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Finalized");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Finalized", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Finalized(int *flag)
     * }
     */
    public static FunctionDescriptor MPI_Finalized$descriptor() {
        return MPI_Finalized.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Finalized(int *flag)
     * }
     */
    public static MethodHandle MPI_Finalized$handle() {
        return MPI_Finalized.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Finalized(int *flag)
     * }
     */
    public static MemorySegment MPI_Finalized$address() {
        return MPI_Finalized.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Finalized(int *flag)
     * }
     */
    public static int MPI_Finalized(MemorySegment flag) {
        var mh$ = MPI_Finalized.HANDLE;
        try {
            return (int) mh$.invokeExact(flag);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Finalize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Finalize");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Finalize", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Finalize(void)
     * }
     */
    public static FunctionDescriptor MPI_Finalize$descriptor() {
        return MPI_Finalize.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Finalize(void)
     * }
     */
    public static MethodHandle MPI_Finalize$handle() {
        return MPI_Finalize.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Finalize(void)
     * }
     */
    public static MemorySegment MPI_Finalize$address() {
        return MPI_Finalize.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Finalize(void)
     * }
     */
    public static int MPI_Finalize() {
        var mh$ = MPI_Finalize.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Comm_rank {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Comm_rank");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Comm_rank", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Comm_rank(MPI_Comm comm, int *rank)
     * }
     */
    public static FunctionDescriptor MPI_Comm_rank$descriptor() {
        return MPI_Comm_rank.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Comm_rank(MPI_Comm comm, int *rank)
     * }
     */
    public static MethodHandle MPI_Comm_rank$handle() {
        return MPI_Comm_rank.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Comm_rank(MPI_Comm comm, int *rank)
     * }
     */
    public static MemorySegment MPI_Comm_rank$address() {
        return MPI_Comm_rank.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Comm_rank(MPI_Comm comm, int *rank)
     * }
     */
    public static int MPI_Comm_rank(MemorySegment comm, MemorySegment rank) {
        var mh$ = MPI_Comm_rank.HANDLE;
        try {
            return (int) mh$.invokeExact(comm, rank);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Comm_size {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Comm_size");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Comm_size", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Comm_size(MPI_Comm comm, int *size)
     * }
     */
    public static FunctionDescriptor MPI_Comm_size$descriptor() {
        return MPI_Comm_size.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Comm_size(MPI_Comm comm, int *size)
     * }
     */
    public static MethodHandle MPI_Comm_size$handle() {
        return MPI_Comm_size.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Comm_size(MPI_Comm comm, int *size)
     * }
     */
    public static MemorySegment MPI_Comm_size$address() {
        return MPI_Comm_size.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Comm_size(MPI_Comm comm, int *size)
     * }
     */
    public static int MPI_Comm_size(MemorySegment comm, MemorySegment size) {
        var mh$ = MPI_Comm_size.HANDLE;
        try {
            return (int) mh$.invokeExact(comm, size);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Comm_set_errhandler {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Comm_set_errhandler");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Comm_set_errhandler", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
     * }
     */
    public static FunctionDescriptor MPI_Comm_set_errhandler$descriptor() {
        return MPI_Comm_set_errhandler.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
     * }
     */
    public static MethodHandle MPI_Comm_set_errhandler$handle() {
        return MPI_Comm_set_errhandler.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
     * }
     */
    public static MemorySegment MPI_Comm_set_errhandler$address() {
        return MPI_Comm_set_errhandler.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler)
     * }
     */
    public static int MPI_Comm_set_errhandler(MemorySegment comm, MemorySegment errhandler) {
        var mh$ = MPI_Comm_set_errhandler.HANDLE;
        try {
            return (int) mh$.invokeExact(comm, errhandler);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Allreduce {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER,
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Allreduce");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Allreduce", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
     * }
     */
    public static FunctionDescriptor MPI_Allreduce$descriptor() {
        return MPI_Allreduce.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
     * }
     */
    public static MethodHandle MPI_Allreduce$handle() {
        return MPI_Allreduce.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
     * }
     */
    public static MemorySegment MPI_Allreduce$address() {
        return MPI_Allreduce.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm)
     * }
     */
    public static int MPI_Allreduce(MemorySegment sendbuf, MemorySegment recvbuf, int count, MemorySegment datatype, MemorySegment op, MemorySegment comm) {
        var mh$ = MPI_Allreduce.HANDLE;
        try {
            return (int) mh$.invokeExact(sendbuf, recvbuf, count, datatype, op, comm);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Bcast {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_INT,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Bcast");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Bcast", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
     * }
     */
    public static FunctionDescriptor MPI_Bcast$descriptor() {
        return MPI_Bcast.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
     * }
     */
    public static MethodHandle MPI_Bcast$handle() {
        return MPI_Bcast.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
     * }
     */
    public static MemorySegment MPI_Bcast$address() {
        return MPI_Bcast.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm)
     * }
     */
    public static int MPI_Bcast(MemorySegment buffer, int count, MemorySegment datatype, int root, MemorySegment comm) {
        var mh$ = MPI_Bcast.HANDLE;
        try {
            return (int) mh$.invokeExact(buffer, count, datatype, root, comm);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Barrier {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Barrier");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Barrier", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Barrier(MPI_Comm comm)
     * }
     */
    public static FunctionDescriptor MPI_Barrier$descriptor() {
        return MPI_Barrier.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Barrier(MPI_Comm comm)
     * }
     */
    public static MethodHandle MPI_Barrier$handle() {
        return MPI_Barrier.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Barrier(MPI_Comm comm)
     * }
     */
    public static MemorySegment MPI_Barrier$address() {
        return MPI_Barrier.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Barrier(MPI_Comm comm)
     * }
     */
    public static int MPI_Barrier(MemorySegment comm) {
        var mh$ = MPI_Barrier.HANDLE;
        try {
            return (int) mh$.invokeExact(comm);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Abort {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_INT
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Abort");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Abort", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Abort(MPI_Comm comm, int errorcode)
     * }
     */
    public static FunctionDescriptor MPI_Abort$descriptor() {
        return MPI_Abort.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Abort(MPI_Comm comm, int errorcode)
     * }
     */
    public static MethodHandle MPI_Abort$handle() {
        return MPI_Abort.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Abort(MPI_Comm comm, int errorcode)
     * }
     */
    public static MemorySegment MPI_Abort$address() {
        return MPI_Abort.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Abort(MPI_Comm comm, int errorcode)
     * }
     */
    public static int MPI_Abort(MemorySegment comm, int errorcode) {
        var mh$ = MPI_Abort.HANDLE;
        try {
            return (int) mh$.invokeExact(comm, errorcode);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class MPI_Error_string {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            mpi_h.C_INT,
            mpi_h.C_INT,
            mpi_h.C_POINTER,
            mpi_h.C_POINTER
        );

        static final MemorySegment ADDR = MpiLibrary.find("MPI_Error_string");

        static final MethodHandle HANDLE = MpiLibrary.downcall("MPI_Error_string", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * int MPI_Error_string(int errorcode, char *string, int *resultlen)
     * }
     */
    public static FunctionDescriptor MPI_Error_string$descriptor() {
        return MPI_Error_string.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * int MPI_Error_string(int errorcode, char *string, int *resultlen)
     * }
     */
    public static MethodHandle MPI_Error_string$handle() {
        return MPI_Error_string.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * int MPI_Error_string(int errorcode, char *string, int *resultlen)
     * }
     */
    public static MemorySegment MPI_Error_string$address() {
        return MPI_Error_string.ADDR;
    }

    /**
     * {@snippet lang=c :
     * int MPI_Error_string(int errorcode, char *string, int *resultlen)
     * }
     */
    public static int MPI_Error_string(int errorcode, MemorySegment string, MemorySegment resultlen) {
        var mh$ = MPI_Error_string.HANDLE;
        try {
            return (int) mh$.invokeExact(errorcode, string, resultlen);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class ompi_mpi_comm_world$constants {
        static final MemorySegment SEGMENT = MpiLibrary.find("ompi_mpi_comm_world");
    }

    /**
     * The address of the global:
     * {@snippet lang=c :
     * extern struct ompi_predefined_communicator_t ompi_mpi_comm_world
     * }
     * (NULL when libmpi is missing).
     */
    public static MemorySegment ompi_mpi_comm_world$segment() {
        return ompi_mpi_comm_world$constants.SEGMENT;
    }

    private static final class ompi_mpi_float$constants {
        static final MemorySegment SEGMENT = MpiLibrary.find("ompi_mpi_float");
    }

    /**
     * The address of the global:
     * {@snippet lang=c :
     * extern struct ompi_predefined_datatype_t ompi_mpi_float
     * }
     * (NULL when libmpi is missing).
     */
    public static MemorySegment ompi_mpi_float$segment() {
        return ompi_mpi_float$constants.SEGMENT;
    }

    private static final class ompi_mpi_double$constants {
        static final MemorySegment SEGMENT = MpiLibrary.find("ompi_mpi_double");
    }

    /**
     * The address of the global:
     * {@snippet lang=c :
     * extern struct ompi_predefined_datatype_t ompi_mpi_double
     * }
     * (NULL when libmpi is missing).
     */
    public static MemorySegment ompi_mpi_double$segment() {
        return ompi_mpi_double$constants.SEGMENT;
    }

    private static final class ompi_mpi_op_sum$constants {
        static final MemorySegment SEGMENT = MpiLibrary.find("ompi_mpi_op_sum");
    }

    /**
     * The address of the global:
     * {@snippet lang=c :
     * extern struct ompi_predefined_op_t ompi_mpi_op_sum
     * }
     * (NULL when libmpi is missing).
     */
    public static MemorySegment ompi_mpi_op_sum$segment() {
        return ompi_mpi_op_sum$constants.SEGMENT;
    }

    private static final class ompi_mpi_errors_return$constants {
        static final MemorySegment SEGMENT = MpiLibrary.find("ompi_mpi_errors_return");
    }

    /**
     * The address of the global:
     * {@snippet lang=c :
     * extern struct ompi_predefined_errhandler_t ompi_mpi_errors_return
     * }
     * (NULL when libmpi is missing).
     */
    public static MemorySegment ompi_mpi_errors_return$segment() {
        return ompi_mpi_errors_return$constants.SEGMENT;
    }

    /**
     * {@snippet lang=c :
     * #define MPI_COMM_WORLD OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)
     * }
     */
    public static MemorySegment MPI_COMM_WORLD() {
        return ompi_mpi_comm_world$segment();
    }

    /**
     * {@snippet lang=c :
     * #define MPI_FLOAT OMPI_PREDEFINED_GLOBAL(MPI_Datatype, ompi_mpi_float)
     * }
     */
    public static MemorySegment MPI_FLOAT() {
        return ompi_mpi_float$segment();
    }

    /**
     * {@snippet lang=c :
     * #define MPI_DOUBLE OMPI_PREDEFINED_GLOBAL(MPI_Datatype, ompi_mpi_double)
     * }
     */
    public static MemorySegment MPI_DOUBLE() {
        return ompi_mpi_double$segment();
    }

    /**
     * {@snippet lang=c :
     * #define MPI_SUM OMPI_PREDEFINED_GLOBAL(MPI_Op, ompi_mpi_op_sum)
     * }
     */
    public static MemorySegment MPI_SUM() {
        return ompi_mpi_op_sum$segment();
    }

    /**
     * {@snippet lang=c :
     * #define MPI_ERRORS_RETURN OMPI_PREDEFINED_GLOBAL(MPI_Errhandler, ompi_mpi_errors_return)
     * }
     */
    public static MemorySegment MPI_ERRORS_RETURN() {
        return ompi_mpi_errors_return$segment();
    }

    /**
     * {@snippet lang=c :
     * #define MPI_IN_PLACE ((void *) 1)
     * }
     */
    public static MemorySegment MPI_IN_PLACE() {
        return MemorySegment.ofAddress(1L);
    }
}
