package dev.tessera.examples.cli;

import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import dev.tessera.core.cpu.Parallel;
import dev.tessera.examples.Tessera.UsageException;
import picocli.CommandLine.Option;

/** Flags every command shares: --debug, --threads, --device. */
public final class CommonOptions {
    @Option(names = "--debug", description = "Print stack traces on errors.")
    boolean debug;

    @Option(names = "--threads", paramLabel = "N", description = "CPU worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "cpu|cuda", description = "Device (default: cpu; cuda is not wired to models yet).")
    String device;

    /**
     * Applies --threads and checks --device. Models run on the CPU in this version: the CUDA
     * backend exists (tensors and ops through the Backend SPI) but moving models to it is not wired
     * into the commands yet, so an explicit {@code --device cuda} is refused rather than silently
     * ignored.
     */
    public Device apply() {
        if (threads != null) {
            if (threads < 1) {
                throw new UsageException("--threads must be >= 1, got " + threads);
            }
            Parallel.setThreads(threads);
        }
        if (device == null || device.equals("cpu")) {
            return Device.CPU;
        }
        if (!device.equals("cuda") && !device.startsWith("cuda:")) {
            throw new UsageException("--device: expected cpu or cuda, got '" + device + "'");
        }
        Backends.of(Device.parse(device)); // says why when the GPU is not usable
        throw new UsageException("--device " + device + ": the commands run models on the CPU in this version (the CUDA backend is not wired to models yet)");
    }
}
