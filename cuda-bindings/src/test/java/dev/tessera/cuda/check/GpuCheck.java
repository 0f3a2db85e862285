package dev.tessera.cuda.check;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import dev.tessera.cuda.backend.CudaBackend;
import dev.tessera.cuda.backend.MemoryInfo;
import java.util.ArrayList;
import java.util.List;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The whole GPU check in one JVM (run by scripts/gpu-check.sh on a machine with a GPU and no
 * Java toolchain): every test of this module, the op-by-op CUDA tests among them, with a
 * PASS/FAIL/SKIP line each; then the GEMM benchmark; then one summary. Exits 1 when a test
 * failed or CUDA is unusable, so a skipped GPU suite never reads as a pass.
 *
 * <p>{@code java -cp 'lib/*' dev.tessera.cuda.check.GpuCheck [--no-bench]}
 */
public final class GpuCheck {
    private GpuCheck() {}

    public static void main(String[] args) {
        boolean bench = !List.of(args).contains("--no-bench");
        boolean gpu = Backends.isAvailable(Device.cuda(0));
        if (gpu) {
            CudaBackend cuda = (CudaBackend) Backends.of(Device.cuda(0));
            MemoryInfo info = cuda.memoryInfo();
            System.out.printf("device: %s, compute %d.%d, driver CUDA %d.%d, %d MiB free of %d MiB%n", cuda.deviceName(),
                    cuda.computeCapability() / 10, cuda.computeCapability() % 10, cuda.driverVersion() / 1000,
                    (cuda.driverVersion() % 1000) / 10, info.freeBytes() >> 20, info.totalBytes() >> 20);
        } else {
            System.out.println("device: none usable — " + reason());
        }

        Counts counts = runTests();
        if (counts.passed + counts.failed + counts.skipped == 0) {
            counts.failed++;
            counts.failedNames.add("no test was discovered (is the test jar on the class path, and jdk.zipfs in the runtime?)");
        }
        List<String> benchLines = new ArrayList<>();
        if (gpu && bench) {
            System.out.println("sgemm (cuBLAS via CudaBackend vs the CPU backend):");
            try {
                for (GemmBenchmark.Result r : GemmBenchmark.run(2.0)) {
                    System.out.println(r.line());
                    benchLines.add(r.line());
                }
            } catch (RuntimeException e) {
                System.out.println("  benchmark failed: " + e);
                counts.failed++;
            }
        }

        System.out.println();
        System.out.println("==== gpu-check summary ====");
        System.out.println(gpu ? "CUDA: usable" : "CUDA: NOT usable (" + reason() + ")");
        counts.failedNames.forEach(n -> System.out.println("FAILED " + n));
        benchLines.forEach(System.out::println);
        System.out.println("gpu-check: " + counts.passed + " passed, " + counts.failed + " failed, " + counts.skipped + " skipped");
        System.exit(counts.failed == 0 && gpu ? 0 : 1);
    }

    private static String reason() {
        try {
            Backends.of(Device.cuda(0));
            return "available";
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }

    static final class Counts {
        int passed;
        int failed;
        int skipped;
        final List<String> failedNames = new ArrayList<>();
    }

    private static Counts runTests() {
        Counts counts = new Counts();
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage("dev.tessera.cuda")).build();
        TestExecutionListener listener = new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (id.isTest()) {
                    counts.skipped++;
                    System.out.println("SKIP " + name(id) + " — " + reason);
                } else {
                    System.out.println("SKIP " + id.getDisplayName() + " (all its tests) — " + reason);
                }
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest() && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
                    return;
                }
                switch (result.getStatus()) {
                    case SUCCESSFUL -> {
                        counts.passed++;
                        System.out.println("PASS " + name(id));
                    }
                    case ABORTED -> {
                        counts.skipped++;
                        System.out.println("SKIP " + name(id) + " — " + result.getThrowable().map(Throwable::getMessage).orElse(""));
                    }
                    case FAILED -> {
                        counts.failed++;
                        counts.failedNames.add(name(id));
                        System.out.println("FAIL " + name(id) + " — " + result.getThrowable().map(Throwable::toString).orElse(""));
                    }
                }
            }
        };
        LauncherFactory.create().execute(request, listener);
        return counts;
    }

    private static String name(TestIdentifier id) {
        String legacy = id.getLegacyReportingName();
        return id.getParentIdObject().map(p -> p.getLastSegment().getValue()).map(c -> c.substring(c.lastIndexOf('.') + 1) + ".")
                .orElse("") + legacy;
    }
}
