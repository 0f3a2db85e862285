package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.checkNvrtc;

import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaStatus;
import dev.tessera.cuda.ffi.nvrtc_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;

/** Compiles CUDA C++ source to PTX with NVRTC (no GPU needed). */
final class NvrtcCompiler {
    private NvrtcCompiler() {}

    /** Thrown when NVRTC rejects an option (e.g. an architecture newer than it knows). */
    static final class InvalidOption extends TesseraException {
        InvalidOption(String message) {
            super(message);
        }
    }

    /**
     * PTX for {@code source} (named {@code name} in messages), with {@code headers} (include name to
     * text) resolvable by {@code #include "name"}, compiled with {@code options}.
     */
    static String compile(String name, String source, Map<String, String> headers, List<String> options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment program = arena.allocate(ValueLayout.ADDRESS);
            int count = headers.size();
            MemorySegment texts = arena.allocate(ValueLayout.ADDRESS, Math.max(1, count));
            MemorySegment names = arena.allocate(ValueLayout.ADDRESS, Math.max(1, count));
            int i = 0;
            for (var header : headers.entrySet()) {
                names.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(header.getKey()));
                texts.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(header.getValue()));
                i++;
            }
            checkNvrtc(nvrtc_h.nvrtcCreateProgram(program, arena.allocateFrom(source), arena.allocateFrom(name), count,
                    texts, names), "nvrtcCreateProgram(" + name + ")");
            MemorySegment prog = program.get(ValueLayout.ADDRESS, 0);
            try {
                MemorySegment opts = arena.allocate(ValueLayout.ADDRESS, Math.max(1, options.size()));
                for (int k = 0; k < options.size(); k++) {
                    opts.setAtIndex(ValueLayout.ADDRESS, k, arena.allocateFrom(options.get(k)));
                }
                int result = nvrtc_h.nvrtcCompileProgram(prog, options.size(), opts);
                if (result == nvrtc_h.NVRTC_ERROR_INVALID_OPTION()) {
                    throw new InvalidOption("NVRTC rejected the options " + options + " for " + name);
                }
                if (result != nvrtc_h.NVRTC_SUCCESS()) {
                    throw new TesseraException("NVRTC could not compile " + name + ": " + CudaStatus.nvrtcError(result)
                            + ": " + firstLines(log(arena, prog), 5));
                }
                MemorySegment size = arena.allocate(ValueLayout.JAVA_LONG);
                checkNvrtc(nvrtc_h.nvrtcGetPTXSize(prog, size), "nvrtcGetPTXSize");
                MemorySegment ptx = arena.allocate(size.get(ValueLayout.JAVA_LONG, 0) + 1);
                checkNvrtc(nvrtc_h.nvrtcGetPTX(prog, ptx), "nvrtcGetPTX");
                return ptx.getString(0);
            } finally {
                nvrtc_h.nvrtcDestroyProgram(program);
            }
        }
    }

    private static String log(Arena arena, MemorySegment prog) {
        MemorySegment size = arena.allocate(ValueLayout.JAVA_LONG);
        if (nvrtc_h.nvrtcGetProgramLogSize(prog, size) != nvrtc_h.NVRTC_SUCCESS()) {
            return "(no log)";
        }
        MemorySegment text = arena.allocate(size.get(ValueLayout.JAVA_LONG, 0) + 1);
        if (nvrtc_h.nvrtcGetProgramLog(prog, text) != nvrtc_h.NVRTC_SUCCESS()) {
            return "(no log)";
        }
        return text.getString(0);
    }

    private static String firstLines(String text, int lines) {
        return String.join(" | ", text.strip().lines().limit(lines).toList());
    }
}
