package dev.tessera.training.dist;

import dev.tessera.core.Collective;
import dev.tessera.core.TesseraException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a training process finds its data-parallel job, and the {@code --nproc N} shortcut that
 * starts one on this machine, as {@code torchrun}/{@code horovodrun} do:
 *
 * <pre>{@code
 * mpirun -np 4 --hostfile hosts ./tessera train ...   # each rank: collectiveFromEnvironment() joins the job
 * ./tessera train --nproc 2 ...                        # launchLocally(2, ...) runs mpirun for you
 * }</pre>
 *
 * A process started by Open MPI's {@code mpirun} (it sets {@code OMPI_COMM_WORLD_SIZE}) with more
 * than one rank joins the job through {@link MpiCollective}; any other process is a single-process
 * job. {@code TESSERA_COLLECTIVE_TIMEOUT} (seconds, default 600 as PyTorch's) bounds how long a
 * collective waits for the other ranks.
 */
public final class DataParallelLaunch {
    /** Default collective timeout: PyTorch's process-group default of 10 minutes. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    private DataParallelLaunch() {}

    /** Whether this process was started by mpirun as one rank of several. */
    public static boolean underMpirun() {
        return worldSizeFromEnvironment(System.getenv()) > 1;
    }

    /** The job this process belongs to: MPI ranks under mpirun, else the single-process job. */
    public static Collective collectiveFromEnvironment() {
        if (!underMpirun()) {
            return Collective.singleProcess();
        }
        return MpiCollective.open(timeout(System.getenv()));
    }

    static int worldSizeFromEnvironment(Map<String, String> env) {
        String size = env.get("OMPI_COMM_WORLD_SIZE");
        if (size == null) {
            return 1;
        }
        try {
            return Integer.parseInt(size.strip());
        } catch (NumberFormatException e) {
            throw new TesseraException("OMPI_COMM_WORLD_SIZE: expected a number of ranks, got '" + size + "'");
        }
    }

    static Duration timeout(Map<String, String> env) {
        String value = env.get("TESSERA_COLLECTIVE_TIMEOUT");
        if (value == null || value.isBlank()) {
            return DEFAULT_TIMEOUT;
        }
        try {
            double seconds = Double.parseDouble(value.strip());
            if (seconds > 0) {
                return Duration.ofMillis((long) (seconds * 1000));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new TesseraException("TESSERA_COLLECTIVE_TIMEOUT: expected seconds > 0, got '" + value + "'");
    }

    /**
     * Stops every rank after a failure on this one (MPI_Abort), so the others do not wait for it in
     * their next collective; does nothing for a single process, whose caller reports the error.
     */
    public static void abortJobOnError(Collective collective, String oneLine, int exitCode) {
        if (collective.worldSize() > 1) {
            collective.abort("tessera: rank " + collective.rank() + " of " + collective.worldSize() + ": " + oneLine, exitCode);
        }
    }

    /**
     * This JVM's own command line with {@code args} after {@code mainClass}: what every rank of a
     * local job runs.
     */
    public static List<String> javaCommand(String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /** The mpirun line that runs {@code rankCommand} as {@code nproc} ranks on this machine. */
    static List<String> mpirunCommand(String mpirun, int nproc, List<String> rankCommand, boolean root, int cores) {
        List<String> cmd = new ArrayList<>(List.of(mpirun, "-q", "-np", Integer.toString(nproc)));
        if (root) {
            cmd.add("--allow-run-as-root");
        }
        if (nproc > cores) {
            cmd.add("--oversubscribe");
        }
        // each rank runs a pool of worker threads: binding a rank to one core would starve it
        cmd.addAll(List.of("--bind-to", "none"));
        // a rank waiting in a collective yields its core to the other ranks' worker threads instead of spinning
        cmd.addAll(List.of("--mca", "mpi_yield_when_idle", "1"));
        cmd.addAll(rankCommand);
        return cmd;
    }

    /**
     * Runs {@code rankCommand} as {@code nproc} data-parallel ranks on this machine through mpirun,
     * passing their output through, and returns the job's exit code (0, or 1 when a rank failed:
     * the failing rank has printed why).
     *
     * @throws TesseraException with one line when mpirun or libmpi is missing
     */
    public static int launchLocally(int nproc, List<String> rankCommand) {
        if (nproc < 1) {
            throw new TesseraException("--nproc must be >= 1, got " + nproc);
        }
        openMpiUnavailableReason().ifPresent(reason -> {
            throw new TesseraException("--nproc " + nproc + ": " + reason);
        });
        Path mpirun = findOnPath("mpirun");
        boolean root = "root".equals(System.getProperty("user.name"));
        List<String> cmd = mpirunCommand(mpirun.toString(), nproc, rankCommand, root, Runtime.getRuntime().availableProcessors());
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.INHERIT).start();
            // through System.out/err rather than inherited descriptors, so a caller that redirects them sees the ranks
            Thread out = pump(p.getInputStream(), System.out), err = pump(p.getErrorStream(), System.err);
            int code = p.waitFor();
            out.join();
            err.join();
            return code == 0 ? 0 : 1;
        } catch (IOException e) {
            throw new TesseraException(mpirun + ": cannot start: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TesseraException("interrupted while the ranks ran", e);
        }
    }

    private static Thread pump(InputStream from, PrintStream to) {
        return Thread.ofPlatform().daemon().start(() -> {
            byte[] buffer = new byte[8192];
            try {
                for (int n; (n = from.read(buffer)) >= 0; ) {
                    to.write(buffer, 0, n);
                    to.flush();
                }
            } catch (IOException e) {
                // the job ended: nothing more to pass on
            }
        });
    }

    /** Why a local job cannot start here (no mpirun on the PATH, no libmpi), in one line; empty when it can. */
    public static Optional<String> openMpiUnavailableReason() {
        if (findOnPath("mpirun") == null) {
            return Optional.of("Open MPI's mpirun is not on the PATH; " + MpiLibrary.INSTALL_HINT);
        }
        return MpiLibrary.unavailableReason();
    }

    static Path findOnPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isBlank()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
