package dev.tessera.training;

import dev.tessera.core.Autograd;
import dev.tessera.core.Collective;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.training.data.Batch;
import dev.tessera.training.data.DataLoader;
import dev.tessera.training.data.Example;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the {@link Trainer} does differently on several ranks, with PyTorch DDP's semantics: the
 * same initial weights everywhere (rank 0's are broadcast), each global batch split between the
 * ranks (so every example is seen once per epoch), gradients summed over the ranks in buckets
 * after the last micro-batch, and every loss weighted by the labelled tokens of all ranks, so N
 * ranks with batch B train exactly as one process with batch N·B. With one rank every method
 * leaves the single-process path as it was.
 */
final class DataParallel {
    /** Gradient bucket size: DDP's default bucket_cap_mb of 25 MiB. */
    static final long BUCKET_ELEMENTS = (25L << 20) / 4;

    private final Collective collective;
    private final long bucketElements;
    private Tensor bucket; // reused every step: all-reduce stays allocation-free after step 1
    private long reduceNanos; // time spent summing gradients since the last takeReduceSeconds()

    DataParallel(Collective collective) {
        this(collective, BUCKET_ELEMENTS);
    }

    DataParallel(Collective collective, long bucketElements) {
        this.collective = collective;
        this.bucketElements = bucketElements;
    }

    boolean distributed() {
        return collective.worldSize() > 1;
    }

    /** Rank 0: writes logs, metrics, charts, checkpoints and the final model. */
    boolean isMain() {
        return collective.isMain();
    }

    int rank() {
        return collective.rank();
    }

    int worldSize() {
        return collective.worldSize();
    }

    /**
     * This rank's share of the loader's next global batch: a contiguous slice, as even as the
     * batch allows (a short last batch may leave a rank with none).
     */
    Batch nextBatch(DataLoader loader, int padId) {
        if (!distributed()) {
            return loader.next();
        }
        List<Example> global = loader.nextExamples();
        int n = global.size(), r = rank(), world = worldSize();
        return Batch.collate(global.subList((int) ((long) n * r / world), (int) ((long) n * (r + 1) / world)), padId);
    }

    /** The sums over all ranks of a few per-rank values (token counts, loss sums), in place. */
    double[] sum(double... values) {
        if (distributed()) {
            collective.allReduceSum(values);
        }
        return values;
    }

    /** Rank 0's trainable weights on every rank, after checking that all ranks hold the same parameters. */
    void broadcastWeights(Map<String, Tensor> trainable) {
        if (!distributed()) {
            return;
        }
        long elements = 0, nameHash = 0;
        for (var e : trainable.entrySet()) {
            elements += e.getValue().numel();
            nameHash = 31 * nameHash + e.getKey().hashCode();
        }
        // a rank whose counts differ from the sum's share flags it, and every rank sees the flag
        double[] totals = sum(trainable.size(), elements, nameHash);
        int world = worldSize();
        boolean same = totals[0] == (double) trainable.size() * world && totals[1] == (double) elements * world
                && totals[2] == (double) nameHash * world;
        if (sum(same ? 0 : 1)[0] > 0) {
            throw new TesseraException("data-parallel ranks hold different trainable parameters (rank " + rank() + ": "
                    + trainable.size() + " tensors, " + elements + " values); give every rank the same model and method");
        }
        try (var ng = Autograd.noGrad()) {
            for (Tensor p : trainable.values()) {
                if (p.dtype() != DType.F32 || !p.isContiguous()) {
                    throw new TesseraException("data parallelism needs contiguous F32 trainable parameters, got " + p.dtype());
                }
                collective.broadcast(p, 0);
            }
        }
    }

    /**
     * Sums the gradients over the ranks, in place, in buckets (of {@link #BUCKET_ELEMENTS} unless a test says otherwise). A
     * parameter that got a gradient on some rank but not on this one (no labelled token here)
     * takes part with zeros, so every rank ends with the same gradients.
     */
    void allReduceGradients(List<Tensor> params) {
        if (!distributed()) {
            return;
        }
        double[] hasGrad = new double[params.size()];
        for (int i = 0; i < params.size(); i++) {
            hasGrad[i] = params.get(i).grad() != null ? 1 : 0;
        }
        sum(hasGrad);
        List<Tensor> reduced = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (hasGrad[i] > 0) {
                if (p.grad() == null) {
                    p.setGrad(Scope.unowned(() -> Tensor.zeros(DType.F32, p.device(), p.shape())));
                } else if (!p.grad().isContiguous()) {
                    p.setGrad(Scope.unowned(() -> p.grad().contiguous()));
                }
                reduced.add(p.grad());
                total += p.numel();
            }
        }
        if (total == 0) {
            return;
        }
        long start = System.nanoTime();
        if (bucket == null) {
            int size = (int) Math.min(total, bucketElements);
            bucket = Scope.unowned(() -> Tensor.zeros(DType.F32, params.get(0).device(), size));
        }
        long capacity = bucket.numel();
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            int first = 0;    // the bucket holds the gradients reduced[first, i) that fit in it
            long filled = 0;
            for (int i = 0; i < reduced.size(); i++) {
                Tensor g = reduced.get(i);
                long n = g.numel();
                if (n > capacity) {
                    collective.allReduceSum(g); // too large for a bucket: reduced where it is
                    continue;
                }
                if (filled + n > capacity) {
                    flush(reduced.subList(first, i), filled);
                    first = i;
                    filled = 0;
                }
                bucket.narrow(0, (int) filled, (int) n).copyFrom(g.reshape((int) n));
                filled += n;
            }
            flush(reduced.subList(first, reduced.size()), filled);
        }
        reduceNanos += System.nanoTime() - start;
    }

    /** Seconds spent summing gradients over the ranks since the last call (waiting for slower ranks included). */
    double takeReduceSeconds() {
        double s = reduceNanos / 1e9;
        reduceNanos = 0;
        return s;
    }

    /** All-reduces the bucket's first {@code filled} values and copies them back into {@code grads}. */
    private void flush(List<Tensor> grads, long filled) {
        if (filled == 0) {
            return;
        }
        collective.allReduceSum(bucket.narrow(0, 0, (int) filled));
        int at = 0;
        for (Tensor g : grads) {
            if (g.numel() <= bucket.numel()) {
                int n = (int) g.numel();
                g.copyFrom(bucket.narrow(0, at, n).reshape(g.shape()));
                at += n;
            }
        }
    }

    /** Frees the gradient bucket at the end of a run. */
    void release() {
        if (bucket != null) {
            bucket.release();
            bucket = null;
        }
    }
}
