package dev.tessera.cuda.ffi;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The three CUDA libraries Tessera binds and where it looks for them. Folders are searched in
 * this order, then the system loader's own path:
 * <ol>
 *   <li>{@code -Dtessera.cuda.libpath} and {@code TESSERA_CUDA_LIBPATH} (path-separated folders);
 *   <li>{@code LD_LIBRARY_PATH}, {@code CUDA_HOME}/{@code CUDA_PATH} {@code lib64}, {@code /usr/local/cuda/lib64};
 *   <li>the pip wheels' folders ({@code nvidia/cublas/lib}, {@code nvidia/cu13/lib},
 *       {@code nvidia/cuda_nvrtc/lib}, ...) in every Python site-packages found under
 *       {@code VIRTUAL_ENV}, {@code CONDA_PREFIX}, {@code /usr/local/lib}, {@code /usr/lib},
 *       {@code /opt/conda/lib} and {@code ~/.local/lib};
 *   <li>the distribution's library folders.
 * </ol>
 * libcuda.so.1 belongs to the driver and is normally found by the system loader.
 *
 * <p>When {@code -Dtessera.cuda.emulator=PATH} or {@code TESSERA_CUDA_EMULATOR=PATH} names the
 * emulated CUDA device ({@code cuda-bindings/emulator}, a test device that runs Tessera's kernels
 * on the CPU), all three libraries are that one file and nothing else is searched.
 */
public final class CudaLibraries {
    private CudaLibraries() {}

    /** The driver API, installed with the NVIDIA driver. */
    public static final NativeLibrary DRIVER = new NativeLibrary("libcuda.so.1",
            List.of("libcuda.so.1", "libcuda.so"), CudaLibraries::systemFolders, file -> List.of());

    /** cuBLAS; libcublasLt (and libcudart where a wheel ships it separately) are loaded first from the same install. */
    public static final NativeLibrary CUBLAS = new NativeLibrary("libcublas.so",
            List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"),
            CudaLibraries::toolkitFolders, CudaLibraries::cublasDependencies);

    /** NVRTC, the run-time CUDA C++ compiler (no GPU needed to compile). */
    public static final NativeLibrary NVRTC = new NativeLibrary("libnvrtc.so",
            List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"),
            CudaLibraries::toolkitFolders, file -> List.of());

    /** The emulated CUDA device's library named by the property or the environment, or empty. */
    public static Optional<Path> emulator() {
        String path = System.getProperty("tessera.cuda.emulator");
        if (path == null || path.isBlank()) {
            path = System.getenv("TESSERA_CUDA_EMULATOR");
        }
        return path == null || path.isBlank() ? Optional.empty() : Optional.of(Path.of(path));
    }

    /** Sub-folders of site-packages where NVIDIA's pip wheels put their libraries. */
    static final List<String> WHEEL_FOLDERS = List.of("nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cuda_nvrtc/lib",
            "nvidia/cuda_runtime/lib", "nvidia/cu12/lib");

    private static List<Path> systemFolders() {
        Set<Path> out = new LinkedHashSet<>();
        addPathList(out, System.getProperty("tessera.cuda.libpath"));
        addPathList(out, System.getenv("TESSERA_CUDA_LIBPATH"));
        addPathList(out, System.getenv("LD_LIBRARY_PATH"));
        for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/usr/lib/wsl/lib")) {
            out.add(Path.of(dir));
        }
        return existing(out);
    }

    private static List<Path> toolkitFolders() {
        Set<Path> out = new LinkedHashSet<>();
        addPathList(out, System.getProperty("tessera.cuda.libpath"));
        addPathList(out, System.getenv("TESSERA_CUDA_LIBPATH"));
        addPathList(out, System.getenv("LD_LIBRARY_PATH"));
        for (String env : List.of("CUDA_HOME", "CUDA_PATH")) {
            String home = System.getenv(env);
            if (home != null && !home.isBlank()) {
                out.add(Path.of(home, "lib64"));
                out.add(Path.of(home, "lib"));
            }
        }
        out.add(Path.of("/usr/local/cuda/lib64"));
        out.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        for (Path sitePackages : sitePackages()) {
            for (String wheel : WHEEL_FOLDERS) {
                out.add(sitePackages.resolve(wheel));
            }
        }
        out.addAll(systemFolders());
        return existing(out);
    }

    /** Every site-packages / dist-packages folder of the Python installs in the usual places. */
    static List<Path> sitePackages() {
        List<Path> roots = new ArrayList<>();
        for (String env : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                roots.add(Path.of(v, "lib"));
            }
        }
        String home = System.getProperty("user.home");
        if (home != null) {
            roots.add(Path.of(home, ".local", "lib"));
        }
        for (String dir : List.of("/usr/local/lib", "/usr/lib", "/opt/conda/lib", "/opt/venv/lib")) {
            roots.add(Path.of(dir));
        }
        List<Path> out = new ArrayList<>();
        for (Path root : roots) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> pythons = Files.list(root)) {
                for (Path python : pythons.filter(p -> p.getFileName().toString().startsWith("python3")).sorted().toList()) {
                    for (String kind : List.of("site-packages", "dist-packages")) {
                        Path sp = python.resolve(kind);
                        if (Files.isDirectory(sp)) {
                            out.add(sp);
                        }
                    }
                }
            } catch (IOException | SecurityException e) {
                // an unreadable folder is simply not searched
            }
        }
        return out;
    }

    /** libcublasLt.so.N (same folder) and libcudart.so.N (same folder or the wheel's cuda_runtime). */
    static List<Path> cublasDependencies(Path cublas) {
        String name = cublas.getFileName().toString();
        String suffix = name.substring("libcublas.so".length());
        Path folder = cublas.getParent();
        List<Path> candidates = new ArrayList<>();
        candidates.add(folder.resolve("libcudart.so" + suffix));
        if (folder.getParent() != null && folder.getParent().getParent() != null) {
            candidates.add(folder.getParent().getParent().resolve("cuda_runtime/lib/libcudart.so" + suffix));
        }
        candidates.add(folder.resolve("libcublasLt.so" + suffix));
        return candidates.stream().filter(Files::isRegularFile).toList();
    }

    private static void addPathList(Set<Path> out, String list) {
        if (list == null || list.isBlank()) {
            return;
        }
        for (String part : list.split(File.pathSeparator)) {
            if (!part.isBlank()) {
                out.add(Path.of(part));
            }
        }
    }

    private static List<Path> existing(Set<Path> folders) {
        return folders.stream().filter(Files::isDirectory).toList();
    }
}
