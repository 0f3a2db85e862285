package dev.tessera.nn;

import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.Arrays;

/**
 * Causal scaled-dot-product attention with grouped-query heads, as Hugging Face's eager
 * attention computes it: {@code softmax(q·kᵀ·scale + mask) · v}.
 *
 * <pre>{@code
 * Tensor mask = Attention.causalMask(T, T, 0);                        // [T, T], once per forward
 * Tensor out = Attention.scaledDotProduct(q.mul(scale), k, v, mask, dropout);
 * }</pre>
 *
 * Grouped-query attention needs no copy of k and v per head: the G = H / Hkv query heads that
 * share a key head are laid side by side as one [G·T, D] matrix against that head's keys.
 */
public final class Attention {
    private Attention() {}

    /**
     * Additive mask {@code [queries, keys]}: 0 where query i (at position keys - queries + i)
     * may attend to key j (j ≤ its position, and within the last {@code window} positions when
     * window > 0), -∞ elsewhere. Null when nothing is masked (one query seeing every key).
     */
    public static Tensor causalMask(int queries, int keys, int window) {
        if (queries <= 0 || keys < queries) {
            throw new TesseraException("causalMask: need 0 < queries <= keys, got " + queries + " and " + keys);
        }
        int past = keys - queries;
        if (queries == 1 && (window <= 0 || keys <= window)) {
            return null;
        }
        float[] m = new float[queries * keys];
        for (int i = 0; i < queries; i++) {
            int pos = past + i;
            for (int j = 0; j < keys; j++) {
                boolean visible = j <= pos && (window <= 0 || pos - j < window);
                m[i * keys + j] = visible ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        return Tensor.of(m, queries, keys);
    }

    /**
     * Additive mask {@code [B, 1, 1, T, T]} for rows of several examples packed back to back
     * (Hugging Face's padding-free training): query i attends key j of its row only when
     * {@code j <= i}, {@code sequenceIds[i] == sequenceIds[j]}, {@code sequenceIds[j] >= 0} and,
     * when window > 0, {@code i - j < window}. A padding query (sequence id < 0), which would
     * see no key and make softmax NaN, sees itself alone; no other query sees it.
     *
     * <pre>{@code
     * long[] seq = {0, 0, 0, 1, 1, -1};                       // [ex0 | ex1 | pad], B = 1, T = 6
     * Tensor mask = Attention.sequenceMask(seq, 1, 6, 0);     // [1, 1, 1, 6, 6]
     * }</pre>
     *
     * @param sequenceIds {@code [B, T]} flattened: each token's example index, negative on padding
     */
    public static Tensor sequenceMask(long[] sequenceIds, int batch, int length, int window) {
        if (batch <= 0 || length <= 0 || sequenceIds.length != (long) batch * length) {
            throw new TesseraException("sequenceMask: " + sequenceIds.length + " sequence ids do not make [" + batch + ", " + length + "]");
        }
        float[] m = new float[batch * length * length];
        Arrays.fill(m, Float.NEGATIVE_INFINITY);
        for (int b = 0; b < batch; b++) {
            int row = b * length;
            for (int i = 0; i < length; i++) {
                long seq = sequenceIds[row + i];
                int at = (row + i) * length;
                if (seq < 0) {
                    m[at + i] = 0f;
                    continue;
                }
                int first = window > 0 ? Math.max(0, i - window + 1) : 0;
                for (int j = first; j <= i; j++) {
                    if (sequenceIds[row + j] == seq) {
                        m[at + j] = 0f;
                    }
                }
            }
        }
        return Tensor.of(m, batch, 1, 1, length, length);
    }

    /**
     * q {@code [B, H, T, D]} already multiplied by the softmax scale, k and v
     * {@code [B, Hkv, S, D]} with Hkv dividing H, mask {@code [T, S]} from {@link #causalMask},
     * {@code [B, 1, 1, T, S]} from {@link #sequenceMask}, or null; returns {@code [B, H, T, D]}.
     * Dropout (on the probabilities) may be null.
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor mask, Dropout dropout) {
        int b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
        int hkv = k.size(1), s = k.size(2);
        if (k.dim() != 4 || k.size(0) != b || k.size(3) != d || h % hkv != 0 || !Arrays.equals(k.shape(), v.shape())) {
            throw new TesseraException("attention: q " + Arrays.toString(q.shape()) + " does not fit k "
                    + Arrays.toString(k.shape()) + " and v " + Arrays.toString(v.shape()));
        }
        int g = h / hkv;
        // (B, Hkv, G*T, D) @ (B, Hkv, D, S) -> (B, Hkv, G*T, S): the query heads of a group share one GEMM
        Tensor scores = q.reshape(b, hkv, g * t, d).matmul(k.transpose(-1, -2));
        if (mask != null) {
            scores = scores.reshape(b, hkv, g, t, s).add(mask);
        }
        Tensor probs = scores.softmax(-1);
        if (dropout != null && dropout.isActive()) {
            probs = dropout.forward(probs);
        }
        // (B, Hkv, G*T, S) @ (B, Hkv, S, D) -> (B, Hkv, G*T, D) = (B, H, T, D)
        return probs.reshape(b, hkv, g * t, s).matmul(v).reshape(b, h, t, d);
    }
}
