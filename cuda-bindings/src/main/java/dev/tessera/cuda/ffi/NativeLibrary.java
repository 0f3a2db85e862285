package dev.tessera.cuda.ffi;

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
import java.util.function.Supplier;

/**
 * A shared library found by trying file names, in this order: when the emulated CUDA device is
 * selected ({@code -Dtessera.cuda.emulator} / {@code TESSERA_CUDA_EMULATOR}), that file and nothing
 * else; otherwise each candidate folder in turn (every file name in it, after the libraries it
 * depends on from the same install), and last the file names through the system loader's own
 * search (LD_LIBRARY_PATH, the ld.so cache). It is loaded at most once, on first use, into the
 * global arena, and a missing library never throws while loading: it yields a one-line
 * {@link #unavailableReason()} instead, and every function bound to it throws a
 * {@link TesseraException} carrying that reason when called.
 */
public final class NativeLibrary {
    private static final MethodHandle FAIL;

    static {
        try {
            FAIL = MethodHandles.lookup().findStatic(NativeLibrary.class, "fail",
                    MethodType.methodType(Object.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String description;
    private final List<String> fileNames;
    private final Supplier<List<Path>> folders;
    private final DependencyFinder dependencies;
    private volatile Loaded loaded;

    /** Libraries to load from the same install before {@code file}, e.g. libcublasLt beside libcublas. */
    @FunctionalInterface
    interface DependencyFinder {
        List<Path> before(Path file);
    }

    private record Loaded(SymbolLookup lookup, String location, String failure) {}

    NativeLibrary(String description, List<String> fileNames, Supplier<List<Path>> folders, DependencyFinder dependencies) {
        this.description = description;
        this.fileNames = List.copyOf(fileNames);
        this.folders = folders;
        this.dependencies = dependencies;
    }

    /** What this library is, e.g. "libcuda.so.1". */
    public String description() {
        return description;
    }

    public boolean isAvailable() {
        return load().lookup != null;
    }

    /** Why the library could not be loaded, or empty when it was. */
    public Optional<String> unavailableReason() {
        return Optional.ofNullable(load().failure);
    }

    /** Where the library was loaded from (a file name when the system loader found it). */
    public Optional<String> location() {
        return Optional.ofNullable(load().location);
    }

    /** The address of {@code symbol}, or {@link MemorySegment#NULL} when the library or symbol is missing. */
    public MemorySegment find(String symbol) {
        Loaded l = load();
        return l.lookup == null ? MemorySegment.NULL : l.lookup.find(symbol).orElse(MemorySegment.NULL);
    }

    /**
     * A downcall handle for {@code symbol} at {@code address}; when the address is NULL, a handle of
     * the same type that throws a {@link TesseraException} naming the symbol and the reason.
     */
    public MethodHandle downcall(String symbol, MemorySegment address, FunctionDescriptor descriptor) {
        if (!address.equals(MemorySegment.NULL)) {
            return Linker.nativeLinker().downcallHandle(address, descriptor);
        }
        String reason = unavailableReason().orElse(description + " has no symbol " + symbol + " (library too old?)");
        MethodType type = descriptor.toMethodType();
        MethodHandle thrower = MethodHandles.insertArguments(FAIL, 0, symbol + ": " + reason);
        return MethodHandles.dropArguments(thrower, 0, type.parameterList()).asType(type);
    }

    private static Object fail(String message) {
        throw new TesseraException(message);
    }

    private Loaded load() {
        Loaded l = loaded;
        if (l == null) {
            synchronized (this) {
                l = loaded;
                if (l == null) {
                    l = tryLoad();
                    loaded = l;
                }
            }
        }
        return l;
    }

    private Loaded tryLoad() {
        Optional<Path> emulator = CudaLibraries.emulator();
        if (emulator.isPresent()) {
            Path file = emulator.get();
            if (!Files.isRegularFile(file)) {
                return new Loaded(null, null, "the emulated CUDA device " + file
                        + " does not exist (it is built by cuda-bindings' Maven build where g++ is installed)");
            }
            SymbolLookup lookup = open(file.toAbsolutePath().toString());
            return lookup != null ? new Loaded(lookup, file.toString(), null)
                    : new Loaded(null, null, "the emulated CUDA device " + file + " cannot be loaded");
        }
        List<Path> searched = new ArrayList<>();
        for (Path folder : folders.get()) {
            for (String name : fileNames) {
                Path file = folder.resolve(name);
                if (Files.isRegularFile(file)) {
                    for (Path dependency : dependencies.before(file)) {
                        open(dependency.toString());
                    }
                    SymbolLookup lookup = open(file.toString());
                    if (lookup != null) {
                        return new Loaded(lookup, file.toString(), null);
                    }
                }
            }
            searched.add(folder);
        }
        for (String name : fileNames) {
            SymbolLookup lookup = open(name);
            if (lookup != null) {
                return new Loaded(lookup, name, null);
            }
        }
        return new Loaded(null, null, description + " not found (tried " + String.join(", ", fileNames)
                + " on the system library path and in " + searched.size() + " folders; set -Dtessera.cuda.libpath=DIR)");
    }

    private static SymbolLookup open(String nameOrPath) {
        try {
            return SymbolLookup.libraryLookup(nameOrPath, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return null;
        }
    }
}
