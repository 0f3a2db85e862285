#!/usr/bin/env bash
# Regenerates training/src/main/java/dev/tessera/training/dist/mpi_h.java, the FFM bindings of the
# few Open MPI functions data-parallel training calls, with jextract (https://jdk.java.net/jextract,
# 22 or newer) where it is installed, from Open MPI's mpi.h (apt-get install libopenmpi-dev):
#     scripts/jextract-mpi.sh
# The checked-in class was written by hand in jextract's output shape (a static method per function
# whose javadoc shows the C prototype, a lazily linked MethodHandle per symbol in a holder class).
# Differences re-applied after generation, as for the CUDA bindings (scripts/jextract-cuda.sh):
#   - symbols come from MpiLibrary (TESSERA_MPI_LIB, OPAL_PREFIX, the system path) instead of
#     jextract's fixed library lookup, and a missing library gives handles that throw one line
#     saying what to install, instead of an UnsatisfiedLinkError;
#   - Open MPI's handles are macros that take the address of an exported global
#     (#define MPI_COMM_WORLD OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)), which jextract
#     does not translate, and the globals have incomplete struct types, which it skips: the
#     ompi_*$segment() accessors and the MPI_COMM_WORLD()-style methods are appended from the
#     HANDLES block below.
#
#     scripts/jextract-mpi.sh --check
# needs no jextract: it checks that the lists below are exactly what the Java class binds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/training/src/main/java"
pkg=dev.tessera.training.dist
class=mpi_h
file="$out/${pkg//.//}/$class.java"

FUNCTIONS=(
    MPI_Init_thread MPI_Initialized MPI_Finalized MPI_Finalize MPI_Comm_rank MPI_Comm_size
    MPI_Comm_set_errhandler MPI_Allreduce MPI_Bcast MPI_Barrier MPI_Abort MPI_Error_string
)
CONSTANTS=(
    MPI_SUCCESS MPI_MAX_ERROR_STRING MPI_THREAD_SINGLE MPI_THREAD_FUNNELED MPI_THREAD_SERIALIZED MPI_THREAD_MULTIPLE
)
# predefined handle = address of an exported global (checked against libmpi by MpiCollectiveTest)
HANDLES=(
    MPI_COMM_WORLD:MPI_Comm:ompi_mpi_comm_world:ompi_predefined_communicator_t
    MPI_FLOAT:MPI_Datatype:ompi_mpi_float:ompi_predefined_datatype_t
    MPI_DOUBLE:MPI_Datatype:ompi_mpi_double:ompi_predefined_datatype_t
    MPI_SUM:MPI_Op:ompi_mpi_op_sum:ompi_predefined_op_t
    MPI_ERRORS_RETURN:MPI_Errhandler:ompi_mpi_errors_return:ompi_predefined_errhandler_t
)

sorted() { printf '%s\n' "$@" | sort; }
bound_functions() { sed -n 's/.*public static FunctionDescriptor \([A-Za-z0-9_]*\)\$descriptor().*/\1/p' "$file" | sort; }
bound_constants() { sed -n 's/.*public static int \(MPI_[A-Z_]*\)() {.*/\1/p' "$file" | sort; }
bound_handles() { sed -n 's/.*public static MemorySegment \(ompi_[a-z_]*\)\$segment().*/\1/p' "$file" | sort; }

if [ "${1:-}" = "--check" ]; then
    status=0
    names=(); for h in "${HANDLES[@]}"; do IFS=: read -r _ _ global _ <<<"$h"; names+=("$global"); done
    diff <(bound_functions) <(sorted "${FUNCTIONS[@]}") || { echo "mpi_h.java and FUNCTIONS differ" >&2; status=1; }
    diff <(bound_constants) <(sorted "${CONSTANTS[@]}") || { echo "mpi_h.java and CONSTANTS differ" >&2; status=1; }
    diff <(bound_handles) <(sorted "${names[@]}") || { echo "mpi_h.java and HANDLES differ" >&2; status=1; }
    [ "$status" = 0 ] && echo "jextract-mpi: the lists match the checked-in bindings"
    exit "$status"
fi

command -v jextract >/dev/null || { echo "jextract is not installed (use --check to verify the lists without it)" >&2; exit 2; }
include="${MPI_INCLUDE:-$(mpicc --showme:incdir 2>/dev/null | awk '{print $1}')}"
[ -f "$include/mpi.h" ] || { echo "mpi.h not found (apt-get install libopenmpi-dev, or set MPI_INCLUDE)" >&2; exit 2; }

args=()
for f in "${FUNCTIONS[@]}"; do args+=(--include-function "$f"); done
for c in "${CONSTANTS[@]}"; do args+=(--include-constant "$c"); done
jextract --output "$out" --target-package "$pkg" --header-class-name "$class" -I "$include" "${args[@]}" "$include/mpi.h"

# Tessera's differences (see the top of this file).
perl -0pi -e '
    s/public static final MemorySegment ADDR = \w+\.findOrThrow\("(\w+)"\);(\s*)public static final MethodHandle HANDLE = Linker\.nativeLinker\(\)\.downcallHandle\(ADDR, DESC\);/static final MemorySegment ADDR = MpiLibrary.find("$1");$2static final MethodHandle HANDLE = MpiLibrary.downcall("$1", ADDR, DESC);/g;
' "$file"
sed -i '$ d' "$file" # the class's closing brace, put back after the handles
{
    for h in "${HANDLES[@]}"; do
        IFS=: read -r macro type global struct <<<"$h"
        cat <<JAVA
    private static final class ${global}\$constants {
        static final MemorySegment SEGMENT = MpiLibrary.find("${global}");
    }

    /** The address of {@code extern struct ${struct} ${global}} (NULL when libmpi is missing). */
    public static MemorySegment ${global}\$segment() {
        return ${global}\$constants.SEGMENT;
    }

    /** {@code #define ${macro} OMPI_PREDEFINED_GLOBAL(${type}, ${global})} */
    public static MemorySegment ${macro}() {
        return ${global}\$segment();
    }

JAVA
    done
    cat <<'JAVA'
    /** {@code #define MPI_IN_PLACE ((void *) 1)} */
    public static MemorySegment MPI_IN_PLACE() {
        return MemorySegment.ofAddress(1L);
    }
}
JAVA
} >>"$file"
echo "regenerated $file; run the training tests (MpiCollectiveTest checks the bindings against libmpi)"
