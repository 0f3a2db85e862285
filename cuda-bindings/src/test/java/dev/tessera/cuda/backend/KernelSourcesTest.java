package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.Backend;
import dev.tessera.core.DType;
import dev.tessera.cuda.ffi.CudaLibraries;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The .cu kernels compile (nvcc at build time, NVRTC at run time), assemble, and define every
 * entry the backend launches with the parameter list it launches them with.
 */
class KernelSourcesTest {

    private static Path tool(String name) {
        List<Path> candidates = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            candidates.add(Path.of(dir, name));
        }
        String home = System.getenv("CUDA_HOME");
        if (home != null) {
            candidates.add(Path.of(home, "bin", name));
        }
        candidates.add(Path.of("/usr/local/cuda/bin", name));
        return candidates.stream().filter(Files::isExecutable).findFirst().orElse(null);
    }

    private static String run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + output);
        return output;
    }

    /** Writes the kernel sources from the class path, as the jar carries them. */
    private static void writeSources(Path dir) throws IOException {
        for (var h : KernelLoader.headers().entrySet()) {
            Files.writeString(dir.resolve(h.getKey()), h.getValue());
        }
        for (String module : Kernel.modules()) {
            Files.writeString(dir.resolve(module + ".cu"), KernelLoader.source(module));
        }
    }

    private static void assertDefinesItsKernels(String module, String ptx) {
        Map<String, List<Kernel.Param>> entries = PtxEntries.parse(ptx);
        for (Kernel k : Kernel.values()) {
            if (k.module.equals(module)) {
                assertTrue(entries.containsKey(k.entry), module + " PTX has no entry " + k.entry + " (has " + entries.keySet() + ")");
                assertEquals(PtxEntries.asPtx(k), entries.get(k.entry), k.entry + " parameters");
            }
        }
    }

    /** Ampere (compute_80) and Hopper (compute_90) PTX from the real nvcc, each assembled by ptxas for its GPU. */
    @Test
    void nvccCompilesEveryKernelFileForAmpereAndHopperAndPtxasAssemblesIt(@TempDir Path dir) throws Exception {
        Path nvcc = tool("nvcc"), ptxas = tool("ptxas");
        assumeTrue(nvcc != null && ptxas != null, "nvcc/ptxas are not installed here");
        writeSources(dir);
        int[] archs = {80, 90};
        List<java.util.concurrent.Future<String>> compiles = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(archs.length)) {
            for (int arch : archs) {
                Path out = Files.createDirectories(dir.resolve("compute_" + arch));
                List<String> command = new ArrayList<>(List.of(nvcc.toString(), "-ptx", "-arch=compute_" + arch, "-I" + dir));
                for (String module : Kernel.modules()) {
                    command.add(dir.resolve(module + ".cu").toString());   // one nvcc run per architecture: NAME.ptx each
                }
                compiles.add(pool.submit(() -> run(out, command.toArray(String[]::new))));
            }
            for (var c : compiles) {
                c.get();
            }
        }
        for (int arch : archs) {
            Path out = dir.resolve("compute_" + arch);
            for (String module : Kernel.modules()) {
                assertDefinesItsKernels(module, Files.readString(out.resolve(module + ".ptx")));
                run(out, ptxas.toString(), "-arch=sm_" + arch, "-o", module + ".cubin", module + ".ptx");
            }
        }
    }

    /** The jar's PTX (compute_75) assembles for Turing and Hopper, also lowered to the ISA a CUDA 11.0 driver reads. */
    @Test
    void theBuildTimePtxAssemblesForTuringAndHopperAndAtTheOldestIsaWeLowerTo(@TempDir Path dir) throws Exception {
        Path ptxas = tool("ptxas");
        assumeTrue(tool("nvcc") != null && ptxas != null, "nvcc/ptxas are not installed here");
        for (String module : Kernel.modules()) {
            String ptx = KernelLoader.buildTimePtx(module);
            assertNotNull(ptx, module + ".ptx missing from the class path although nvcc is installed");
            String lowered = Ptx.forDriver(ptx, 11000);
            assertEquals(7, Ptx.version(lowered)[0]);
            Files.writeString(dir.resolve(module + ".ptx"), ptx);
            Files.writeString(dir.resolve(module + "-isa70.ptx"), lowered);
            for (String arch : new String[] {"sm_75", "sm_90"}) {
                run(dir, ptxas.toString(), "-arch=" + arch, "-o", module + "-" + arch + ".cubin", module + ".ptx");
                run(dir, ptxas.toString(), "-arch=" + arch, "-o", module + "-isa70-" + arch + ".cubin", module + "-isa70.ptx");
            }
        }
    }

    @Test
    void theBuildPutPtxForEveryKernelFileInTheJar() {
        assumeTrue(tool("nvcc") != null, "built without nvcc: the jar carries sources only, for NVRTC");
        for (String module : Kernel.modules()) {
            String ptx = KernelLoader.buildTimePtx(module);
            assertNotNull(ptx, module + ".ptx missing from the class path although nvcc is installed");
            assertDefinesItsKernels(module, ptx);
        }
    }

    @Test
    void nvrtcCompilesEveryKernelFileAtRunTime() {
        assumeTrue(CudaLibraries.NVRTC.isAvailable(), "libnvrtc is not installed here");
        for (String module : Kernel.modules()) {
            assertDefinesItsKernels(module, KernelLoader.compileForDevice(module, 75));
        }
    }

    @Test
    void nvrtcReportsCompileErrorsWithTheLog() {
        assumeTrue(CudaLibraries.NVRTC.isAvailable(), "libnvrtc is not installed here");
        assumeTrue(CudaLibraries.emulator().isEmpty(), "the emulated device's NVRTC takes only the packaged sources");
        String message = org.junit.jupiter.api.Assertions.assertThrows(dev.tessera.core.TesseraException.class,
                () -> NvrtcCompiler.compile("broken.cu", "extern \"C\" __global__ void k() { undefined_thing(); }",
                        Map.of(), List.of("--gpu-architecture=compute_75"))).getMessage();
        assertTrue(message.startsWith("NVRTC could not compile broken.cu: NVRTC_ERROR_COMPILATION"), message);
        assertTrue(message.contains("undefined_thing"), message);
    }

    /** NAME = value pairs of a C enum whose names start with {@code prefix}. */
    private static Map<String, Integer> cEnum(String source, String prefix) {
        Map<String, Integer> out = new java.util.LinkedHashMap<>();
        Matcher m = Pattern.compile("\\b" + prefix + "(\\w+)\\s*=\\s*(\\d+)").matcher(source);
        while (m.find()) {
            out.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return out;
    }

    private static <E extends Enum<E>> void assertNumbering(Map<String, Integer> cEnum, E[] values, String what) {
        assertEquals(values.length, cEnum.size(), what + ": " + cEnum);
        for (E v : values) {
            assertEquals(v.ordinal(), cEnum.get(v.name()), what + " " + v.name());
        }
    }

    @Test
    void kernelOpCodesAreTheJavaEnumOrdinals() {
        String elementwise = KernelLoader.source("elementwise");
        assertNumbering(cEnum(elementwise, "UOP_"), Backend.UnaryOp.values(), "UnaryOp");
        assertNumbering(cEnum(elementwise, "BOP_"), Backend.BinaryOp.values(), "BinaryOp");
        assertNumbering(cEnum(KernelLoader.source("reduce"), "ROP_"), Backend.ReduceOp.values(), "ReduceOp");
        String common = KernelLoader.headers().get("common.cuh");
        assertNumbering(cEnum(common, "DT_"), DType.values(), "DType");
        Map<String, Integer> errors = cEnum(common, "ERR_");
        assertEquals(Map.of("EMBEDDING_INDEX", CudaContext.ERR_EMBEDDING_INDEX, "TARGET_INDEX", CudaContext.ERR_TARGET_INDEX,
                "SELECT_INDEX", CudaContext.ERR_SELECT_INDEX, "NONFINITE_QUANT", CudaContext.ERR_NONFINITE_QUANT,
                "NONFINITE_QUANT4", CudaContext.ERR_NONFINITE_QUANT4), errors);
        Matcher dims = Pattern.compile("#define TS_MAX_DIMS (\\d+)").matcher(common);
        assertTrue(dims.find());
        assertEquals(StridedLayout.MAX_DIMS, Integer.parseInt(dims.group(1)));
    }

    @Test
    void everyKernelFileIsUsedAndEveryEntryIsUnique() {
        assertEquals(List.of("adamw", "elementwise", "embedding", "loss", "nf4", "norms", "quant8", "reduce", "softmax"),
                Kernel.modules().stream().sorted().toList());
        assertEquals(Kernel.values().length,
                java.util.Arrays.stream(Kernel.values()).map(k -> k.entry).distinct().count());
    }
}
