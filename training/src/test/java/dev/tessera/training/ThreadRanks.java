package dev.tessera.training;

import dev.tessera.core.Collective;
import dev.tessera.core.DType;
import dev.tessera.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A test double of an MPI job: N ranks as N threads of this JVM, meeting at a barrier for every
 * collective, with MPI's semantics (sums in rank order, so every rank gets the same bits).
 */
final class ThreadRanks {
    private final int size;
    private final CyclicBarrier barrier;
    private final Object[] slots;
    int collectives; // how many all-reduce calls rank 0 made

    ThreadRanks(int size) {
        this.size = size;
        this.barrier = new CyclicBarrier(size);
        this.slots = new Object[size];
    }

    Collective rank(int r) {
        return new Collective() {
            @Override
            public int rank() {
                return r;
            }

            @Override
            public int worldSize() {
                return size;
            }

            @Override
            public void allReduceSum(Tensor f32) {
                check(f32);
                if (r == 0) {
                    collectives++;
                }
                slots[r] = read(f32);
                await();
                float[] sum = new float[(int) f32.numel()];
                for (Object s : slots) {
                    float[] v = (float[]) s;
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += v[i];
                    }
                }
                await();
                MemorySegment.copy(sum, 0, f32.dataSegment(), ValueLayout.JAVA_FLOAT, 0, sum.length);
            }

            @Override
            public void allReduceSum(double[] values) {
                slots[r] = values.clone();
                await();
                double[] sum = new double[values.length];
                for (Object s : slots) {
                    double[] v = (double[]) s;
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += v[i];
                    }
                }
                await();
                System.arraycopy(sum, 0, values, 0, sum.length);
            }

            @Override
            public void broadcast(Tensor f32, int root) {
                check(f32);
                slots[r] = read(f32);
                await();
                float[] v = (float[]) slots[root];
                await();
                MemorySegment.copy(v, 0, f32.dataSegment(), ValueLayout.JAVA_FLOAT, 0, v.length);
            }

            @Override
            public void barrier() {
                await();
            }

            @Override
            public void abort(String reason, int exitCode) {
                throw new AssertionError("rank " + r + " aborted: " + reason);
            }

            @Override
            public void close() {}
        };
    }

    private static void check(Tensor t) {
        if (t.dtype() != DType.F32 || !t.isContiguous()) {
            throw new AssertionError("collective on a " + t.dtype() + " tensor, contiguous " + t.isContiguous());
        }
    }

    private static float[] read(Tensor t) {
        return t.dataSegment().toArray(ValueLayout.JAVA_FLOAT);
    }

    private void await() {
        try {
            barrier.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
            throw new AssertionError("a rank did not reach the collective", e);
        }
    }
}
