package dev.tessera.nn;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Rotary position embeddings in Hugging Face's "rotate half" convention:
 * {@code x·cos + rotate_half(x)·sin} with {@code rotate_half(x) = [-x₂, x₁]} and the angles
 * {@code position · inv_freq} repeated over both halves of the head dimension.
 *
 * <pre>{@code
 * var rope = new RotaryEmbedding(RotaryEmbedding.defaultInverseFrequencies(64, 10000.0));
 * Tensor q = rope.apply(qHeads, 0, 0.125f);   // [B, H, T, 64], rotated and scaled
 * }</pre>
 *
 * The cos/sin tables are computed once in F32 as transformers does ({@code inv_freq} in F32,
 * angles as F32 products) and grow on demand with the positions asked for.
 */
public final class RotaryEmbedding {
    private final float[] invFreq;
    private final int headDim;
    // scale -> {cos [P, D] · scale, signed sin [P, D] · scale}; sin carries rotate_half's sign
    private final Map<Float, Tensor[]> tables = new HashMap<>();
    private int positions;

    /** From the per-pair inverse frequencies ({@code headDim / 2} of them). */
    public RotaryEmbedding(float[] invFreq) {
        if (invFreq.length == 0) {
            throw new TesseraException("RotaryEmbedding needs at least one frequency");
        }
        this.invFreq = invFreq.clone();
        this.headDim = 2 * invFreq.length;
    }

    /** {@code 1 / theta^(2i / headDim)} for i in [0, headDim / 2), computed in F32 as transformers does. */
    public static float[] defaultInverseFrequencies(int headDim, double theta) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new TesseraException("rotary embeddings need an even head dimension, got " + headDim);
        }
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            inv[i] = 1f / (float) Math.pow(theta, exponent);
        }
        return inv;
    }

    public int headDim() {
        return headDim;
    }

    /**
     * x {@code [B, H, T, D]} (any strides) rotated for positions {@code [start, start + T)} and
     * multiplied by {@code scale}; returns a contiguous {@code [B, H, T, D]}.
     */
    public Tensor apply(Tensor x, int start, float scale) {
        int t = x.size(2), d = x.size(3);
        if (d != headDim) {
            throw new TesseraException("rotary embedding for head dim " + headDim + " applied to " + Arrays.toString(x.shape()));
        }
        Tensor[] cs = tables(start + t, scale);
        Tensor cos = cs[0].narrow(0, start, t), sin = cs[1].narrow(0, start, t);
        if (!cos.device().equals(x.device())) {
            cos = cos.to(x.device());
            sin = sin.to(x.device());
        }
        return rotate(x, cos, sin);
    }

    /** Rotation tables gathered for given positions: cos and signed sin {@code [B, 1, T, D]}, scaled. */
    public record Angles(Tensor cos, Tensor sin) {}

    /**
     * The tables at per-token positions {@code positionIds [B, T]} (I64, e.g. restarting at 0 for
     * every example packed into a row), multiplied by {@code scale}; gather once per forward and
     * apply in every layer with {@link #apply(Tensor, Angles)}. On the CPU the tables grow to the
     * largest id; on a device they cover at least {@code T} positions (and whatever earlier calls
     * needed), and a larger id is an error ("embedding: token id ... out of range ...") reported at
     * the next synchronisation, so the ids never travel to the host.
     *
     * <pre>{@code
     * var angles = rope.angles(Tensor.ofLongs(new long[] {0, 1, 2, 0, 1}, 1, 5), 1f);
     * Tensor k = rope.apply(kHeads, angles);   // [1, H, 5, D]
     * }</pre>
     */
    public Angles angles(Tensor positionIds, float scale) {
        if (positionIds.dim() != 2) {
            throw new TesseraException("rotary embedding: position ids must be [B, T], got " + Arrays.toString(positionIds.shape()));
        }
        int needed;
        if (positionIds.device().isCpu()) {
            long max = -1;
            for (long p : positionIds.toLongArray()) {
                if (p < 0 || p >= Integer.MAX_VALUE / 2) {
                    throw new TesseraException("rotary embedding: position id " + p + " out of range");
                }
                max = Math.max(max, p);
            }
            needed = (int) max + 1;
        } else {
            // On a device the ids are never copied to the host: the tables cover at least the row
            // length (packed examples restart at 0 inside their row), and an id past the tables is
            // reported by the lookup's error word at the next synchronisation.
            needed = positionIds.size(1);
        }
        Tensor[] cs = tables(needed, scale);
        Tensor cos = cs[0], sin = cs[1];
        if (!cos.device().equals(positionIds.device())) {
            cos = cos.to(positionIds.device());
            sin = sin.to(positionIds.device());
        }
        // (P, D) gathered at (B, T) -> (B, T, D) -> (B, 1, T, D), broadcast over the heads
        return new Angles(cos.embedding(positionIds).unsqueeze(1), sin.embedding(positionIds).unsqueeze(1));
    }

    /** x {@code [B, H, T, D]} (any strides) rotated by {@code angles}; returns a contiguous {@code [B, H, T, D]}. */
    public Tensor apply(Tensor x, Angles angles) {
        int b = x.size(0), t = x.size(2), d = x.size(3);
        if (d != headDim || angles.cos().size(0) != b || angles.cos().size(2) != t) {
            throw new TesseraException("rotary angles " + Arrays.toString(angles.cos().shape()) + " do not fit " + Arrays.toString(x.shape()));
        }
        return rotate(x, angles.cos(), angles.sin());
    }

    private static Tensor rotate(Tensor x, Tensor cos, Tensor sin) {
        int half = x.size(3) / 2;
        // [x₂, x₁] · [-sin, sin] = rotate_half(x) · sin
        Tensor swapped = Tensor.cat(-1, x.narrow(-1, half, half), x.narrow(-1, 0, half));
        return x.mul(cos).add(swapped.mul(sin));
    }

    private synchronized Tensor[] tables(int needed, float scale) {
        if (needed > positions) {
            int p = Math.max(needed, Math.max(64, 2 * positions));
            for (Tensor[] old : tables.values()) {
                old[0].release();
                old[1].release();
            }
            tables.clear();
            positions = p;
        }
        return tables.computeIfAbsent(scale, s -> Scope.unowned(() -> build(positions, s)));
    }

    private Tensor[] build(int p, float scale) {
        int half = invFreq.length;
        float[] cos = new float[p * headDim];
        float[] sin = new float[p * headDim];
        for (int pos = 0; pos < p; pos++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos * invFreq[i];
                float c = (float) Math.cos(angle) * scale, s = (float) Math.sin(angle) * scale;
                int row = pos * headDim;
                cos[row + i] = c;
                cos[row + half + i] = c;
                sin[row + i] = -s;
                sin[row + half + i] = s;
            }
        }
        return new Tensor[] {Tensor.of(cos, p, headDim), Tensor.of(sin, p, headDim)};
    }
}
