package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.check;

import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaLibraries;
import dev.tessera.cuda.ffi.CudaStatus.CudaException;
import dev.tessera.cuda.ffi.cuda_h;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads the project's kernels into one context, a module (.cu file) at a time on first use:
 * the PTX that nvcc wrote at build time ({@code kernels/NAME.ptx} in the jar), its ISA version
 * lowered to what the driver reads; or, when the jar has none or the driver refuses it, PTX that
 * NVRTC compiles at run time from {@code kernels/NAME.cu} for the device's architecture.
 */
final class KernelLoader {
    private final CudaContext context;
    private final Map<String, MemorySegment> modules = new HashMap<>();
    private final Map<Kernel, MemorySegment> functions = new EnumMap<>(Kernel.class);

    KernelLoader(CudaContext context) {
        this.context = context;
    }

    /** The CUfunction of {@code kernel}, loading its module if needed. */
    synchronized MemorySegment function(Kernel kernel) {
        MemorySegment f = functions.get(kernel);
        if (f != null) {
            return f;
        }
        MemorySegment module = modules.get(kernel.module);
        if (module == null) {
            module = loadModule(kernel.module);
            modules.put(kernel.module, module);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(cuda_h.cuModuleGetFunction(out, module, arena.allocateFrom(kernel.entry)),
                    "cuModuleGetFunction(" + kernel.entry + ")");
            f = out.get(ValueLayout.ADDRESS, 0);
        }
        functions.put(kernel, f);
        return f;
    }

    private MemorySegment loadModule(String module) {
        context.enter();
        String ptx = buildTimePtx(module);
        CudaException refused = null;
        if (ptx != null) {
            try {
                return moduleLoad(Ptx.forDriver(ptx, context.driverVersion()), module + ".ptx");
            } catch (CudaException e) {
                refused = e;
            }
        }
        var noNvrtc = CudaLibraries.NVRTC.unavailableReason();
        if (noNvrtc.isPresent()) {
            String why = refused != null ? refused.getMessage()
                    : "the jar has no build-time PTX (it was built without nvcc)";
            throw new TesseraException("CUDA kernels '" + module + "' cannot be loaded: " + why
                    + ", and run-time compilation needs NVRTC: " + noNvrtc.get());
        }
        return moduleLoad(compileForDevice(module, context.computeCapability()), module + ".cu (NVRTC)");
    }

    private MemorySegment moduleLoad(String ptx, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(cuda_h.cuModuleLoadData(out, arena.allocateFrom(ptx)), "cuModuleLoadData(" + what + ")");
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    /**
     * NVRTC's PTX for {@code module}, for the device's architecture or, when this NVRTC does not
     * know it yet, the newest older one it accepts (the driver JIT-compiles PTX forward).
     */
    static String compileForDevice(String module, int computeCapability) {
        List<Integer> archs = new ArrayList<>(List.of(computeCapability));
        for (int a : new int[] {90, 80, 75}) {
            if (a < computeCapability) {
                archs.add(a);
            }
        }
        for (int arch : archs) {
            try {
                return NvrtcCompiler.compile(module + ".cu", source(module), headers(),
                        List.of("--gpu-architecture=compute_" + arch));
            } catch (NvrtcCompiler.InvalidOption e) {
                // this NVRTC predates the architecture: try an older one
            }
        }
        throw new TesseraException("NVRTC accepts none of the architectures " + archs + " for " + module + ".cu");
    }

    /** The CUDA C++ source of {@code module}. */
    static String source(String module) {
        String text = resource(module + ".cu");
        if (text == null) {
            throw new TesseraException("kernel source " + Kernel.RESOURCE_DIR + module + ".cu is missing from the class path");
        }
        return text;
    }

    /** The headers the sources include, by include name. */
    static Map<String, String> headers() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String h : Kernel.HEADERS) {
            String text = resource(h);
            if (text == null) {
                throw new TesseraException("kernel header " + Kernel.RESOURCE_DIR + h + " is missing from the class path");
            }
            out.put(h, text);
        }
        return out;
    }

    /** The build-time PTX of {@code module}, or null when the build had no nvcc. */
    static String buildTimePtx(String module) {
        return resource(module + ".ptx");
    }

    private static String resource(String name) {
        try (InputStream in = KernelLoader.class.getResourceAsStream(Kernel.RESOURCE_DIR + name)) {
            return in == null ? null : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
