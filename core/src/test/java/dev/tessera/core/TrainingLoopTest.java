package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * End-to-end checks of the engine: small models trained with an AdamW update written here,
 * and the memory contract of scopes.
 */
class TrainingLoopTest {
    /** AdamW as PyTorch, written out with tensor ops. */
    static final class AdamW {
        final List<Tensor> params;
        final List<Tensor> m = new ArrayList<>(), v = new ArrayList<>();
        final float lr, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd;
        int t;

        AdamW(List<Tensor> params, float lr, float wd) {
            this.params = params;
            this.lr = lr;
            this.wd = wd;
            for (Tensor p : params) {
                m.add(Scope.unowned(() -> Tensor.zeros(p.shape())));
                v.add(Scope.unowned(() -> Tensor.zeros(p.shape())));
            }
        }

        void step() {
            t++;
            float c1 = (float) (1 - Math.pow(b1, t)), c2 = (float) (1 - Math.pow(b2, t));
            try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
                for (int i = 0; i < params.size(); i++) {
                    Tensor p = params.get(i), g = p.grad();
                    p.mulInPlace(1 - lr * wd);
                    m.get(i).mulInPlace(b1).addInPlace(g, 1 - b1);
                    v.get(i).mulInPlace(b2).addInPlace(g.mul(g), 1 - b2);
                    Tensor update = m.get(i).div(c1).div(v.get(i).div(c2).sqrt().add(eps));
                    p.addInPlace(update, -lr);
                }
            }
            for (Tensor p : params) {
                p.zeroGrad();
            }
        }
    }

    private static Tensor param(Tensor t) {
        return t.requiresGrad(true);
    }

    /** Two-layer MLP classifier: x [N, D] -> logits [N, K]. */
    /** Random inputs {@code x [rows, d]}, random classes {@code y [rows]} of {@code k}, and a fresh MLP to fit them. */
    record Classification(Tensor x, Tensor y, Mlp mlp) {
        /** Draws x, then y, then the MLP's weights from one generator seeded {@code seed}. */
        static Classification random(long seed, int rows, int d, int h, int k) {
            Rng rng = new Rng(seed);
            Tensor x = rng.randn(rows, d);
            Tensor y = rng.randint(k, rows);
            return new Classification(x, y, new Mlp(rng, d, h, k));
        }

        Tensor loss() {
            return mlp.forward(x).crossEntropy(y);
        }
    }

    static final class Mlp {
        final Tensor w1, b1, w2, b2;

        Mlp(Rng rng, int d, int h, int k) {
            w1 = param(rng.kaimingUniform(h, d));
            b1 = param(Tensor.zeros(h));
            w2 = param(rng.kaimingUniform(k, h));
            b2 = param(Tensor.zeros(k));
        }

        Tensor forward(Tensor x) {
            return x.matmul(w1.t()).add(b1).gelu().matmul(w2.t()).add(b2);
        }

        List<Tensor> params() {
            return List.of(w1, b1, w2, b2);
        }
    }

    @Test
    void mlpDrivesLossBelowFivePercentOfStartIn200Steps() {
        Classification task = Classification.random(0, 32, 10, 64, 4);
        assertLossFallsBelowFivePercentOfStartIn200Steps(task.mlp().params(), task::loss);
    }

    /** 200 AdamW steps (lr 1e-2, no weight decay) on {@code loss}; the last loss must be under 5% of the first. */
    private static void assertLossFallsBelowFivePercentOfStartIn200Steps(List<Tensor> params, Supplier<Tensor> loss) {
        AdamW opt = new AdamW(params, 1e-2f, 0f);
        float first = 0, last = 0;
        for (int step = 0; step < 200; step++) {
            try (var scope = Scope.open()) {
                Tensor l = loss.get();
                l.backward();
                opt.step();
                last = l.item();
                if (step == 0) {
                    first = last;
                }
            }
        }
        assertTrue(last < 0.05f * first, "loss " + first + " -> " + last);
    }

    /** One pre-norm transformer block with causal self-attention, built from primitives. */
    static final class Block {
        final int c, heads;
        final Tensor wte, wpe, ln1w, ln1b, wqkv, bqkv, wo, bo, ln2w, ln2b, wfc, bfc, wproj, bproj, lnfw, lnfb;

        Block(Rng rng, int vocab, int ctx, int c, int heads) {
            this.c = c;
            this.heads = heads;
            wte = param(rng.normal(0, 0.1f, vocab, c));
            wpe = param(rng.normal(0, 0.1f, ctx, c));
            ln1w = param(Tensor.ones(c));
            ln1b = param(Tensor.zeros(c));
            wqkv = param(rng.kaimingUniform(3 * c, c));
            bqkv = param(Tensor.zeros(3 * c));
            wo = param(rng.kaimingUniform(c, c));
            bo = param(Tensor.zeros(c));
            ln2w = param(Tensor.ones(c));
            ln2b = param(Tensor.zeros(c));
            wfc = param(rng.kaimingUniform(4 * c, c));
            bfc = param(Tensor.zeros(4 * c));
            wproj = param(rng.kaimingUniform(c, 4 * c));
            bproj = param(Tensor.zeros(c));
            lnfw = param(Tensor.ones(c));
            lnfb = param(Tensor.zeros(c));
        }

        // ids (B, T) -> logits (B*T, V)
        Tensor forward(Tensor ids) {
            int b = ids.size(0), t = ids.size(1), hd = c / heads;
            Tensor x = wte.embedding(ids).add(wpe.narrow(0, 0, t));                      // (B, T, C)
            Tensor h = x.layerNorm(ln1w, ln1b, 1e-5f);
            Tensor qkv = h.matmul(wqkv.t()).add(bqkv);                                     // (B, T, 3C)
            Tensor[] parts = qkv.split(-1, c, c, c);
            Tensor q = parts[0].reshape(b, t, heads, hd).transpose(1, 2);                  // (B, H, T, hd)
            Tensor k = parts[1].reshape(b, t, heads, hd).transpose(1, 2);
            Tensor v = parts[2].reshape(b, t, heads, hd).transpose(1, 2);
            Tensor att = q.matmul(k.transpose(-2, -1)).mul((float) (1 / Math.sqrt(hd)));   // (B, H, T, T)
            Tensor future = Tensor.arange(t).unsqueeze(0).gt(Tensor.arange(t).unsqueeze(1));
            att = att.maskedFill(future, Float.NEGATIVE_INFINITY).softmax(-1);
            Tensor y = att.matmul(v).transpose(1, 2).reshape(b, t, c);                     // (B, T, C)
            x = x.add(y.matmul(wo.t()).add(bo));
            Tensor m = x.layerNorm(ln2w, ln2b, 1e-5f).matmul(wfc.t()).add(bfc).gelu().matmul(wproj.t()).add(bproj);
            x = x.add(m).layerNorm(lnfw, lnfb, 1e-5f);
            return x.matmul(wte.t()).reshape(b * t, -1);                                   // tied head
        }

        List<Tensor> params() {
            return List.of(wte, wpe, ln1w, ln1b, wqkv, bqkv, wo, bo, ln2w, ln2b, wfc, bfc, wproj, bproj, lnfw, lnfb);
        }
    }

    @Test
    void oneBlockTransformerDrivesLossBelowFivePercentOfStartIn200Steps() {
        Rng rng = new Rng(1);
        int vocab = 32, ctx = 16;
        Tensor ids = rng.randint(vocab, 4, ctx);
        long[] idv = ids.toLongArray();
        long[] labels = new long[idv.length];
        for (int i = 0; i < idv.length; i++) {
            labels[i] = (i + 1) % ctx == 0 ? -100 : idv[i + 1];   // next token, none after the last
        }
        Tensor y = Tensor.ofLongs(labels, labels.length);
        Block block = new Block(rng, vocab, ctx, 32, 4);
        assertLossFallsBelowFivePercentOfStartIn200Steps(block.params(), () -> block.forward(ids).crossEntropy(y));
    }

    @Test
    void hundredStepLoopReturnsToItsStartingBytes() {
        Classification task = Classification.random(2, 16, 8, 32, 3);
        AdamW opt = new AdamW(task.mlp().params(), 1e-2f, 0.01f);
        long afterFirst = -1;
        for (int step = 0; step < 100; step++) {
            try (var scope = Scope.open()) {
                task.loss().backward();
                opt.step();
            }
            long live = Backends.cpu().liveBytes();
            if (step == 0) {
                afterFirst = live;
            } else {
                assertEquals(afterFirst, live, "live off-heap bytes after step " + (step + 1));
            }
        }
    }
}
