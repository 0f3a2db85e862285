package dev.tessera.core;

/** {@link Collective#singleProcess()}: one rank, so sums and broadcasts leave the data as it is. */
final class SingleProcessCollective implements Collective {
    static final SingleProcessCollective INSTANCE = new SingleProcessCollective();

    private SingleProcessCollective() {}

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int worldSize() {
        return 1;
    }

    @Override
    public void allReduceSum(Tensor f32) {
        requireF32(f32);
    }

    @Override
    public void allReduceSum(double[] values) {}

    @Override
    public void broadcast(Tensor f32, int root) {
        requireF32(f32);
        if (root != 0) {
            throw new TesseraException("broadcast: root " + root + " is not a rank of a one-process job");
        }
    }

    @Override
    public void barrier() {}

    @Override
    public void abort(String reason, int exitCode) {
        System.err.println(reason);
        System.err.flush();
        Runtime.getRuntime().halt(exitCode);
    }

    @Override
    public void close() {}

    @Override
    public String toString() {
        return "single process";
    }

    /** The contract every implementation checks, so a program that works on one process works on many. */
    static void requireF32(Tensor t) {
        if (t.dtype() != DType.F32 || !t.isContiguous()) {
            throw new TesseraException("collective operations take contiguous F32 tensors, got " + t.dtype()
                    + (t.isContiguous() ? "" : " (not contiguous)"));
        }
    }
}
