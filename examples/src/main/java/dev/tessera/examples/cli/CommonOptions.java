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

    @Option(names = "--device", paramLabel = "cpu|cuda", description = "Device (default: cuda when usable, else cpu).")
    String device;

    /** Applies --threads and resolves --device. */
    public Device apply() {
        if (threads != null) {
            if (threads < 1) {
                throw new UsageException("--threads must be >= 1, got " + threads);
            }
            Parallel.setThreads(threads);
        }
        if (device == null) {
            Device cuda = Device.cuda(0);
            return Backends.isAvailable(cuda) ? cuda : Device.CPU;
        }
        if (!device.equals("cpu") && !device.equals("cuda") && !device.startsWith("cuda:")) {
            throw new UsageException("--device: expected cpu or cuda, got '" + device + "'");
        }
        Device d = Device.parse(device);
        Backends.of(d); // fails with the reason when unusable
        return d;
    }
}
