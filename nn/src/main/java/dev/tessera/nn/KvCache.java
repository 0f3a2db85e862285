package dev.tessera.nn;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.Arrays;

/**
 * Keys and values of the positions already seen, per layer, so that generating a token costs
 * one position instead of the whole sequence. Buffers {@code [B, kvHeads, capacity, headDim]}
 * are allocated on first use (unowned) and freed by {@link #close()}.
 *
 * <pre>{@code
 * try (KvCache cache = model.newCache(1, prompt.length + 32)) {
 *     Tensor logits = model.logits(promptIds, cache);     // fills positions [0, T)
 *     Tensor next = model.logits(oneTokenIds, cache);     // attends to all T + 1 positions
 * }
 * }</pre>
 *
 * A cache may also start from given keys and values ({@link #withPrefix}, e.g. prefix tuning's
 * virtual tokens): they occupy the first positions and keep their place on the tape, so
 * gradients reach them.
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] keys;     // per layer [B, kvHeads, capacity - prefix, D]: positions after the prefix
    private final Tensor[] values;
    private final Tensor[] prefixKeys; // per layer [B, kvHeads, prefix, D], or null
    private final Tensor[] prefixValues;
    private final int batch, kvHeads, headDim, capacity, prefix;
    private int length;

    public KvCache(int layers, int batch, int kvHeads, int headDim, int capacity) {
        this(layers, batch, kvHeads, headDim, capacity, null, null);
    }

    private KvCache(int layers, int batch, int kvHeads, int headDim, int capacity, Tensor[] prefixKeys, Tensor[] prefixValues) {
        if (layers <= 0 || batch <= 0 || kvHeads <= 0 || headDim <= 0 || capacity <= 0) {
            throw new TesseraException("KvCache: sizes must be positive, got layers=" + layers + " batch=" + batch
                    + " kvHeads=" + kvHeads + " headDim=" + headDim + " capacity=" + capacity);
        }
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.batch = batch;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.capacity = capacity;
        this.prefixKeys = prefixKeys;
        this.prefixValues = prefixValues;
        this.prefix = prefixKeys == null ? 0 : prefixKeys[0].size(2);
        if (prefix > capacity) {
            throw new TesseraException("KvCache: a prefix of " + prefix + " positions exceeds the capacity of " + capacity);
        }
        this.length = prefix;
    }

    /**
     * A cache whose first P positions hold {@code keys[layer]} and {@code values[layer]}, each
     * {@code [B, kvHeads, P, headDim]} (they may require grad); {@code capacity} counts them.
     */
    public static KvCache withPrefix(Tensor[] keys, Tensor[] values, int capacity) {
        if (keys.length == 0 || keys.length != values.length) {
            throw new TesseraException("KvCache.withPrefix: need one key and one value tensor per layer, got "
                    + keys.length + " and " + values.length);
        }
        int[] shape = keys[0].shape();
        for (int i = 0; i < keys.length; i++) {
            if (shape.length != 4 || !Arrays.equals(keys[i].shape(), shape) || !Arrays.equals(values[i].shape(), shape)) {
                throw new TesseraException("KvCache.withPrefix: layer " + i + " has keys " + Arrays.toString(keys[i].shape())
                        + " and values " + Arrays.toString(values[i].shape()) + ", expected both " + Arrays.toString(shape));
            }
        }
        return new KvCache(keys.length, shape[0], shape[1], shape[3], capacity, keys.clone(), values.clone());
    }

    /** Positions stored so far, prefix included (the position of the next token). */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Stores layer {@code layer}'s new keys and values {@code [B, kvHeads, T, headDim]} at
     * positions {@code [length, length + T)} and returns {@code {keys, values}} of all
     * {@code length + T} positions. Without a prefix and without gradients these are views of
     * the buffers; with gradients the new part stays on the tape. Call {@link #advance} once
     * every layer has appended.
     */
    public Tensor[] append(int layer, Tensor k, Tensor v) {
        if (layer < 0 || layer >= keys.length) {
            throw new TesseraException("KvCache: layer " + layer + " out of range for a cache of " + keys.length + " layers");
        }
        int t = k.size(2);
        int[] expected = {batch, kvHeads, t, headDim};
        if (!Arrays.equals(k.shape(), expected) || !Arrays.equals(v.shape(), expected)) {
            throw new TesseraException("KvCache: expected keys and values " + Arrays.toString(expected) + ", got "
                    + Arrays.toString(k.shape()) + " and " + Arrays.toString(v.shape()));
        }
        if (length + t > capacity) {
            throw new TesseraException("KvCache: " + (length + t) + " positions exceed the capacity of " + capacity);
        }
        if (keys[layer] == null) {
            int slots = Math.max(capacity - prefix, 1);
            keys[layer] = Scope.unowned(() -> Tensor.zeros(DType.F32, k.device(), batch, kvHeads, slots, headDim));
            values[layer] = Scope.unowned(() -> Tensor.zeros(DType.F32, k.device(), batch, kvHeads, slots, headDim));
        }
        int past = length - prefix; // stored positions after the prefix
        try (var ng = Autograd.noGrad()) {
            keys[layer].narrow(2, past, t).copyFrom(k);
            values[layer].narrow(2, past, t).copyFrom(v);
        }
        Tensor allK, allV;
        if (Autograd.isGradEnabled() && (k.requiresGrad() || v.requiresGrad())) {
            allK = past == 0 ? k : Tensor.cat(2, keys[layer].narrow(2, 0, past), k);
            allV = past == 0 ? v : Tensor.cat(2, values[layer].narrow(2, 0, past), v);
        } else {
            allK = keys[layer].narrow(2, 0, past + t);
            allV = values[layer].narrow(2, 0, past + t);
        }
        if (prefixKeys != null) {
            allK = Tensor.cat(2, prefixKeys[layer], allK);
            allV = Tensor.cat(2, prefixValues[layer], allV);
        }
        return new Tensor[] {allK, allV};
    }

    /** Moves past {@code t} newly appended positions. */
    public void advance(int t) {
        if (t < 0 || length + t > capacity) {
            throw new TesseraException("KvCache: cannot advance by " + t + " from " + length + " (capacity " + capacity + ")");
        }
        length += t;
    }

    /** Frees the buffers (not the prefix tensors, which belong to the caller) and empties the cache. */
    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                keys[i].release();
                values[i].release();
                keys[i] = null;
                values[i] = null;
            }
        }
        length = prefix;
    }
}
