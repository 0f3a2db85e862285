package dev.tessera.examples.cli;

import dev.tessera.core.BackendProvider;
import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import dev.tessera.core.TesseraException;
import dev.tessera.examples.Tessera.UsageException;
import java.util.ServiceLoader;
import picocli.CommandLine.Option;

/** Flags every command shares: --debug, --threads, --device. */
public final class CommonOptions {
    @Option(names = "--debug", description = "Print stack traces on errors.")
    boolean debug;

    @Option(names = "--threads", paramLabel = "N", description = "CPU worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "cpu|cuda",
            description = "Where models run: cpu, cuda or cuda:N (default: cuda when a usable GPU is present, else cpu).")
    String device;

    private Device resolved;

    /** Whether {@link #device()} keeps its notice to itself (the ranks of a data-parallel job but rank 0). */
    boolean quiet;

    /**
     * Applies --threads and checks the syntax of --device; returns the device asked for, or the
     * CPU when none was (commands that run models call {@link #device()} instead).
     */
    public Device apply() {
        if (threads != null) {
            if (threads < 1) {
                throw new UsageException("--threads must be >= 1, got " + threads);
            }
            Backends.setCpuThreads(threads);
        }
        if (device == null) {
            return Device.CPU;
        }
        try {
            return Device.parse(device);
        } catch (TesseraException e) {
            throw new UsageException("--device: expected cpu, cuda or cuda:N, got '" + device + "'");
        }
    }

    /**
     * The device models run on (CLI.md): the one asked for, which must be usable (else a one-line
     * error, exit 1); without --device, cuda when a usable GPU is present, else cpu, with a
     * one-line notice on stderr saying which and why.
     */
    public Device device() {
        if (resolved != null) {
            return resolved;
        }
        Device asked = apply();
        if (device != null) {
            if (!asked.isCpu()) {
                try {
                    Backends.of(asked);
                } catch (TesseraException e) {
                    throw new TesseraException("--device " + device + ": " + e.getMessage());
                }
            }
            return resolved = asked;
        }
        Device gpu = Device.cuda(0);
        if (Backends.isAvailable(gpu)) {
            if (!quiet) {
                System.err.println("tessera: note: running on " + gpu + " (a usable GPU was found; --device cpu to stay on the CPU)");
            }
            return resolved = gpu;
        }
        if (!quiet) {
            System.err.println("tessera: note: running on the CPU (" + whyNoGpu() + ")");
        }
        return resolved = Device.CPU;
    }

    /** Why cuda:0 cannot be used, in a few words. */
    private static String whyNoGpu() {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.kind().equals("cuda")) {
                return "no usable GPU: " + p.unavailableReason();
            }
        }
        return "no CUDA backend on the class path";
    }
}
