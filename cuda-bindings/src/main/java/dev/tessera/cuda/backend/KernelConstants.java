package dev.tessera.cuda.backend;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Launch sizes the kernels' shared-memory arrays are sized for, read from their one definition in
 * {@code kernels/common.cuh} ({@code #define TS_...}), so a launch here always fits the tile there.
 */
final class KernelConstants {
    /** Threads of a one-block-per-row kernel at most (block reductions keep one slot per warp). */
    static final int MAX_ROW_THREADS;
    /** Columns one block of a column-sum kernel covers: its threads in x. */
    static final int COLUMN_TILE;
    /** Rows a column-sum block sums at once: its threads in y. */
    static final int COLUMN_ROWS;
    /** The largest 8-bit quantization block (adamw8bit_step keeps a block's state in shared memory). */
    static final int MAX_QUANT_BLOCK;

    static {
        String common = read();
        MAX_ROW_THREADS = define(common, "TS_MAX_ROW_THREADS");
        COLUMN_TILE = define(common, "TS_COLUMN_TILE");
        COLUMN_ROWS = define(common, "TS_COLUMN_ROWS");
        MAX_QUANT_BLOCK = define(common, "TS_MAX_QUANT_BLOCK");
    }

    private KernelConstants() {}

    private static String read() {
        try (InputStream in = KernelConstants.class.getResourceAsStream(Kernel.RESOURCE_DIR + "common.cuh")) {
            if (in == null) {
                throw new IllegalStateException(Kernel.RESOURCE_DIR + "common.cuh is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read common.cuh: " + e.getMessage(), e);
        }
    }

    static int define(String source, String name) {
        Matcher m = Pattern.compile("(?m)^#define " + name + " (\\d+)\\b").matcher(source);
        if (!m.find()) {
            throw new IllegalStateException("common.cuh defines no " + name);
        }
        return Integer.parseInt(m.group(1));
    }
}
