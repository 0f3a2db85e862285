package dev.tessera.training.data;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Endless batches over a list of examples, epoch after epoch, like a PyTorch
 * {@code DataLoader} with a seeded sampler: each epoch visits every example once, in an
 * order shuffled from {@code (seed, epoch)} alone (or file order without shuffling); the
 * last batch of an epoch may be smaller.
 *
 * <p>{@link #state()} is the position to resume from: a loader restored to it returns
 * exactly the batches the saved one would have returned next.
 *
 * <pre>{@code
 * DataLoader loader = new DataLoader(dataset.examples(), 8, dataset.padId(), true, 42);
 * for (int step = 0; step < maxSteps; step++) {
 *     Batch batch = loader.next();
 *     ...
 * }
 * DataLoader.State saved = loader.state();          // store with the checkpoint
 * DataLoader resumed = new DataLoader(dataset.examples(), 8, dataset.padId(), true, 42);
 * resumed.restore(saved);                           // continues where the first left off
 * }</pre>
 */
public final class DataLoader implements Iterator<Batch> {

    /**
     * Where a loader stands.
     *
     * @param epoch the epoch being read, from 0
     * @param position how many examples of that epoch's order were already returned
     */
    public record State(int epoch, int position) {}

    private final List<Example> examples;
    private final int batchSize;
    private final int padId;
    private final boolean shuffle;
    private final long seed;
    private int epoch;
    private int position;
    private int[] order;

    /**
     * @param examples what to batch; not copied, so leave it unchanged while the loader is in use
     * @param batchSize examples per batch
     * @param padId the id that pads short rows (see {@link SftDataset#padId()})
     * @param shuffle whether each epoch is shuffled; false keeps the list order
     * @param seed the shuffling seed
     */
    public DataLoader(List<Example> examples, int batchSize, int padId, boolean shuffle, long seed) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no examples to load");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        this.examples = examples;
        this.batchSize = batchSize;
        this.padId = padId;
        this.shuffle = shuffle;
        this.seed = seed;
        this.order = orderOf(0);
    }

    /** Always true: the loader moves on to the next epoch when one ends. */
    @Override
    public boolean hasNext() {
        return true;
    }

    /** The next batch, starting the next epoch first if the current one is done. */
    @Override
    public Batch next() {
        return Batch.collate(nextExamples(), padId);
    }

    /**
     * The examples of the next batch, not yet padded: data-parallel ranks each take their share of
     * one global batch before padding it.
     */
    public List<Example> nextExamples() {
        if (position >= order.length) {
            epoch++;
            position = 0;
            order = orderOf(epoch);
        }
        int end = Math.min(position + batchSize, order.length);
        List<Example> batch = new ArrayList<>(end - position);
        for (int i = position; i < end; i++) {
            batch.add(examples.get(order[i]));
        }
        position = end;
        return batch;
    }

    /** Batches in one epoch, the last possibly partial. */
    public int batchesPerEpoch() {
        return (examples.size() + batchSize - 1) / batchSize;
    }

    /** The epoch the last returned batch came from (0 before the first). */
    public int epoch() {
        return epoch;
    }

    public State state() {
        return new State(epoch, position);
    }

    /** Moves to a saved state; the next batch is the one that followed it. */
    public void restore(State state) {
        if (state.epoch() < 0 || state.position() < 0 || state.position() > examples.size()) {
            throw new IllegalArgumentException("cannot resume at " + state + " with " + examples.size() + " examples");
        }
        epoch = state.epoch();
        position = state.position();
        order = orderOf(epoch);
    }

    /** The order of an epoch: a Fisher-Yates shuffle seeded by (seed, epoch), or 0..n-1. */
    private int[] orderOf(int epoch) {
        int n = examples.size();
        int[] o = new int[n];
        for (int i = 0; i < n; i++) {
            o[i] = i;
        }
        if (shuffle) {
            // split() scrambles the combined seed, so neighbouring epochs get unrelated streams.
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + epoch).split();
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = o[i];
                o[i] = o[j];
                o[j] = t;
            }
        }
        return o;
    }
}
