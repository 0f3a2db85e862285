package dev.tessera.training.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Collective;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The Open MPI bindings and {@link MpiCollective} on a real 2-rank job (skipped, saying why, without Open MPI). */
class MpiCollectiveTest {

    /** What each rank of the job runs: every collective once, checked against what MPI must give. */
    public static void main(String[] args) {
        try (MpiCollective c = MpiCollective.open(Duration.ofSeconds(60))) {
            int r = c.rank(), n = c.worldSize();
            float[] values = new float[1000];
            for (int i = 0; i < values.length; i++) {
                values[i] = (r + 1) * i;
            }
            Tensor t = Tensor.of(values, 10, 100);
            c.allReduceSum(t);
            float[] sum = t.toFloatArray();
            for (int i = 0; i < sum.length; i++) {
                check(sum[i] == (float) i * n * (n + 1) / 2, "allReduceSum value " + i + ": " + sum[i]);
            }
            double[] d = {r, 0.25};
            c.allReduceSum(d);
            check(d[0] == n * (n - 1) / 2.0 && d[1] == 0.25 * n, "allReduceSum(double[]): " + Arrays.toString(d));
            Tensor b = Tensor.of(new float[] {r, r + 0.5f}, 2);
            c.broadcast(b, n - 1);
            check(Arrays.equals(b.toFloatArray(), new float[] {n - 1, n - 0.5f}), "broadcast: " + Arrays.toString(b.toFloatArray()));
            try {
                c.allReduceSum(Tensor.ofInts(new int[] {1}, 1));
                check(false, "an I32 tensor was reduced");
            } catch (TesseraException expected) {
                // contiguous F32 only
            }
            c.barrier();
            System.out.println("rank " + r + " of " + n + " ok");
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    @Test
    void openMpisHandlesAreExportedSymbolsOfLibmpi() {
        assumeOpenMpi();
        for (MemorySegment handle : List.of(mpi_h.MPI_COMM_WORLD(), mpi_h.MPI_FLOAT(), mpi_h.MPI_DOUBLE(), mpi_h.MPI_SUM(), mpi_h.MPI_ERRORS_RETURN())) {
            assertFalse(handle.equals(MemorySegment.NULL));
        }
        assertFalse(mpi_h.MPI_Allreduce$address().equals(MemorySegment.NULL));
        assertEquals(1L, mpi_h.MPI_IN_PLACE().address());
    }

    @Test
    void twoRanksSumBroadcastAndMeet() throws Exception {
        assumeOpenMpi();
        List<String> rank = DataParallelLaunch.javaCommand(MpiCollectiveTest.class.getName(), List.of());
        List<String> cmd = DataParallelLaunch.mpirunCommand(DataParallelLaunch.findOnPath("mpirun").toString(), 2, rank,
                "root".equals(System.getProperty("user.name")), Runtime.getRuntime().availableProcessors());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the 2-rank job did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("rank 0 of 2 ok") && out.contains("rank 1 of 2 ok"), out);
    }

    @Test
    void withoutMpirunTheProcessIsASingleProcessJob() {
        assertEquals(1, DataParallelLaunch.worldSizeFromEnvironment(Map.of()));
        assertEquals(4, DataParallelLaunch.worldSizeFromEnvironment(Map.of("OMPI_COMM_WORLD_SIZE", "4")));
        if (System.getenv("OMPI_COMM_WORLD_SIZE") == null) {
            Collective c = DataParallelLaunch.collectiveFromEnvironment();
            assertEquals(0, c.rank());
            assertEquals(1, c.worldSize());
        }
    }

    @Test
    void theCollectiveTimeoutComesFromTheEnvironment() {
        assertEquals(DataParallelLaunch.DEFAULT_TIMEOUT, DataParallelLaunch.timeout(Map.of()));
        assertEquals(Duration.ofMillis(2500), DataParallelLaunch.timeout(Map.of("TESSERA_COLLECTIVE_TIMEOUT", "2.5")));
        TesseraException e = org.junit.jupiter.api.Assertions.assertThrows(TesseraException.class,
                () -> DataParallelLaunch.timeout(Map.of("TESSERA_COLLECTIVE_TIMEOUT", "soon")));
        assertTrue(e.getMessage().startsWith("TESSERA_COLLECTIVE_TIMEOUT"), e.getMessage());
    }

    @Test
    void theLocalMpirunLineRunsAsRootOversubscribesAndLeavesThreadsUnbound() {
        List<String> cmd = DataParallelLaunch.mpirunCommand("mpirun", 4, List.of("java", "Main"), true, 2);
        assertEquals(List.of("mpirun", "-q", "-np", "4", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                "--mca", "mpi_yield_when_idle", "1", "java", "Main"), cmd);
        assertFalse(DataParallelLaunch.mpirunCommand("mpirun", 2, List.of("x"), false, 2).contains("--oversubscribe"));
    }

    static void assumeOpenMpi() {
        DataParallelLaunch.openMpiUnavailableReason().ifPresent(reason -> Assumptions.abort(reason + " (tools/install-mpi.sh)"));
    }
}
