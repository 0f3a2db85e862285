package dev.tessera.training.dist;

import dev.tessera.core.TesseraException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Open MPI's {@code libmpi.so.40}, loaded once on first use: {@code TESSERA_MPI_LIB} (a file) when
 * set, else {@code $OPAL_PREFIX/lib}, else the system loader's search (LD_LIBRARY_PATH, the ld.so
 * cache). A missing library never throws while loading; {@link #unavailableReason()} gives one line
 * saying what to install, and every function bound to it throws that line when called.
 */
final class MpiLibrary {
    static final String INSTALL_HINT = "install Open MPI (apt-get install openmpi-bin libopenmpi-dev, or tools/install-mpi.sh)";
    private static final MethodHandle FAIL;

    static {
        try {
            FAIL = MethodHandles.lookup().findStatic(MpiLibrary.class, "fail", MethodType.methodType(Object.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private record Loaded(SymbolLookup lookup, String failure) {}

    private static volatile Loaded loaded;

    private MpiLibrary() {}

    static boolean isAvailable() {
        return load().lookup != null;
    }

    static Optional<String> unavailableReason() {
        return Optional.ofNullable(load().failure);
    }

    /** The address of {@code symbol} (a function or one of Open MPI's predefined handles), or NULL. */
    static MemorySegment find(String symbol) {
        Loaded l = load();
        return l.lookup == null ? MemorySegment.NULL : l.lookup.find(symbol).orElse(MemorySegment.NULL);
    }

    /** A downcall handle; for a missing symbol, a handle of the same type that throws the reason. */
    static MethodHandle downcall(String symbol, MemorySegment address, FunctionDescriptor descriptor) {
        if (!address.equals(MemorySegment.NULL)) {
            return Linker.nativeLinker().downcallHandle(address, descriptor);
        }
        String reason = unavailableReason().orElse("libmpi has no symbol " + symbol + " (not Open MPI 4 or newer?)");
        MethodType type = descriptor.toMethodType();
        MethodHandle thrower = MethodHandles.insertArguments(FAIL, 0, reason);
        return MethodHandles.dropArguments(thrower, 0, type.parameterList()).asType(type);
    }

    private static Object fail(String message) {
        throw new TesseraException(message);
    }

    private static Loaded load() {
        Loaded l = loaded;
        if (l == null) {
            synchronized (MpiLibrary.class) {
                l = loaded;
                if (l == null) {
                    l = tryLoad();
                    loaded = l;
                }
            }
        }
        return l;
    }

    private static Loaded tryLoad() {
        String explicit = System.getenv("TESSERA_MPI_LIB");
        if (explicit != null && !explicit.isBlank()) {
            SymbolLookup lookup = open(explicit);
            return lookup != null ? new Loaded(lookup, null)
                    : new Loaded(null, "Open MPI library TESSERA_MPI_LIB=" + explicit + " cannot be loaded; " + INSTALL_HINT);
        }
        List<String> candidates = new ArrayList<>();
        String prefix = System.getenv("OPAL_PREFIX");
        if (prefix != null && !prefix.isBlank()) {
            for (String name : List.of("libmpi.so.40", "libmpi.so")) {
                Path file = Path.of(prefix, "lib", name);
                if (Files.isRegularFile(file)) {
                    candidates.add(file.toString());
                }
            }
        }
        candidates.add("libmpi.so.40");
        candidates.add("libmpi.so");
        for (String c : candidates) {
            SymbolLookup lookup = open(c);
            if (lookup != null) {
                return new Loaded(lookup, null);
            }
        }
        return new Loaded(null, "Open MPI's libmpi.so.40 not found on the library path; " + INSTALL_HINT);
    }

    private static SymbolLookup open(String nameOrPath) {
        try {
            return SymbolLookup.libraryLookup(nameOrPath, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return null;
        }
    }
}
