package dev.tessera.cuda.backend;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PTX text as the driver will take it. nvcc writes the PTX ISA version of its own release
 * ({@code .version 9.0} for CUDA 13) and a driver refuses an ISA newer than it knows
 * (CUDA_ERROR_UNSUPPORTED_PTX_VERSION); Tessera's kernels use nothing past ISA 6.3 (sm_75's
 * minimum), so the header is lowered to what the installed driver reads.
 */
final class Ptx {
    private static final Pattern VERSION = Pattern.compile("(?m)^\\s*\\.version\\s+(\\d+)\\.(\\d+)\\s*$");

    private Ptx() {}

    /** The newest PTX ISA a driver of {@code driverVersion} (cuDriverGetVersion: 1000*major + 10*minor) reads, as {major, minor}. */
    static int[] isaForDriver(int driverVersion) {
        int major = driverVersion / 1000, minor = (driverVersion % 1000) / 10;
        if (major >= 13) {
            return new int[] {9, minor};
        }
        if (major == 12) {
            // 12.0..12.5 -> 8.0..8.5, 12.6 -> 8.5, 12.8 -> 8.7, 12.9 -> 8.8
            int[] isa = {0, 1, 2, 3, 4, 5, 5, 5, 7, 8};
            return new int[] {8, minor < isa.length ? isa[minor] : 8};
        }
        if (major == 11) {
            return new int[] {7, Math.min(minor, 8)};
        }
        if (major == 10) {
            return new int[] {6, 3 + Math.min(minor, 2)};
        }
        return new int[] {6, 0};
    }

    /** The {@code .version} of {@code ptx} as {major, minor}, or null when it has none. */
    static int[] version(String ptx) {
        Matcher m = VERSION.matcher(ptx);
        return m.find() ? new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))} : null;
    }

    /** {@code ptx} with its {@code .version} lowered to what {@code driverVersion} reads (never raised). */
    static String forDriver(String ptx, int driverVersion) {
        int[] have = version(ptx);
        int[] max = isaForDriver(driverVersion);
        if (have == null || compare(have, max) <= 0) {
            return ptx;
        }
        return VERSION.matcher(ptx).replaceFirst(".version " + max[0] + "." + max[1]);
    }

    private static int compare(int[] a, int[] b) {
        return a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]);
    }
}
