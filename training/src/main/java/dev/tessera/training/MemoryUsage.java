package dev.tessera.training;

import dev.tessera.core.Backends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Measured memory of this process, for run reports: peak resident memory (what the machine
 * had to give: heap, off-heap tensors, mapped pages, JVM) and the peak of live off-heap tensor
 * bytes (what Tessera's allocator handed out).
 *
 * <pre>{@code
 * System.out.println(MemoryUsage.peakRssBytes() + " " + MemoryUsage.peakLiveBytes());
 * }</pre>
 */
public final class MemoryUsage {
    private MemoryUsage() {}

    /** VmHWM of this process from /proc (Linux), or -1 where there is none. */
    public static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** The CPU allocator's highest live off-heap bytes since start (or its last reset). */
    public static long peakLiveBytes() {
        return Backends.cpu().peakLiveBytes();
    }
}
