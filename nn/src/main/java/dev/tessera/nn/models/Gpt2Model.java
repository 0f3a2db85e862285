package dev.tessera.nn.models;

import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Activation;
import dev.tessera.nn.Attention;
import dev.tessera.nn.Conv1D;
import dev.tessera.nn.Dropout;
import dev.tessera.nn.Embedding;
import dev.tessera.nn.Init;
import dev.tessera.nn.KvCache;
import dev.tessera.nn.LayerNorm;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.ModuleList;
import dev.tessera.nn.ParameterSource;

/**
 * GPT-2 as transformers' {@code GPT2LMHeadModel}: learned positions, pre-norm blocks of
 * {@code x + attn(ln_1(x))}, {@code x + mlp(ln_2(x))}, Conv1D projections stored
 * {@code [in, out]}, a final {@code ln_f} and an output head tied to {@code wte}.
 *
 * <pre>{@code
 * Gpt2Model gpt2 = (Gpt2Model) CausalLM.load(Path.of("models/gpt2"));
 * Conv1D cAttn = (Conv1D) gpt2.getSubmodule("transformer.h.0.attn.c_attn");   // [C, 3C]
 * }</pre>
 */
public final class Gpt2Model extends CausalLM {
    Gpt2Model(ModelConfig cfg, ParameterSource src, Rng dropoutRng) {
        super(cfg, dropoutRng);
        addDecoderAndHead("transformer", new Transformer(cfg, src.under("transformer"), dropoutRng), src);
    }

    /** {@code transformer}: embeddings, blocks {@code h}, final norm {@code ln_f}. */
    static final class Transformer extends Module implements Decoder {
        private final int maxPositions;

        Transformer(ModelConfig cfg, ParameterSource src, Rng rng) {
            Init normal = Init.normal(cfg.initializerRange());
            addModule("wte", new Embedding(src.under("wte"), cfg.vocabSize(), cfg.hiddenSize(), normal));
            addModule("wpe", new Embedding(src.under("wpe"), cfg.maxPositions(), cfg.hiddenSize(), normal));
            addModule("drop", new Dropout(cfg.embdDropout(), rng));
            ModuleList<Block> h = addModule("h", new ModuleList<>(Block.class));
            for (int i = 0; i < cfg.numLayers(); i++) {
                h.add(new Block(cfg, src.under("h." + i), rng, i));
            }
            addModule("ln_f", new LayerNorm(src.under("ln_f"), cfg.hiddenSize(), cfg.normEps()));
            maxPositions = cfg.maxPositions();
        }

        @Override
        public Embedding tokenEmbedding() {
            return child("wte", Embedding.class);
        }

        // embeds (B, T, C) -> (B, T, C)
        @Override
        public Tensor forward(Tensor embeds, KvCache cache, CausalLM model) {
            int t = embeds.size(1);
            int start = cache == null ? 0 : cache.length();
            if (start + t > maxPositions) {
                throw new TesseraException("GPT-2 sequence of " + (start + t) + " positions exceeds n_positions = " + maxPositions);
            }
            Tensor positions = child("wpe", Embedding.class).weight().narrow(0, start, t); // (T, C)
            Tensor x = child("drop", Dropout.class).forward(embeds.add(positions));
            Tensor mask = Attention.causalMask(t, start + t, 0);
            if (mask != null) {
                mask = mask.to(x.device());
            }
            x = blocks(x, mask, cache, model);
            if (cache != null) {
                cache.advance(t);
            }
            return child("ln_f", LayerNorm.class).forward(x);
        }

        // packed rows: embeds (B, T, C), positionIds (B, T) -> (B, T, C)
        @Override
        public Tensor forward(Tensor embeds, Tensor positionIds, long[] sequenceIds, CausalLM model) {
            int b = embeds.size(0), t = embeds.size(1);
            // on a device the learned-position lookup checks the ids through the error word, without a host copy
            if (positionIds.device().isCpu()) {
                for (long p : positionIds.toLongArray()) {
                    if (p < 0 || p >= maxPositions) {
                        throw new TesseraException("GPT-2 position id " + p + " is outside [0, n_positions = " + maxPositions + ")");
                    }
                }
            }
            Tensor positions = child("wpe", Embedding.class).forward(positionIds); // (B, T, C)
            Tensor x = child("drop", Dropout.class).forward(embeds.add(positions));
            Tensor mask = Attention.sequenceMask(sequenceIds, b, t, 0).to(x.device()); // (B, 1, 1, T, T)
            return child("ln_f", LayerNorm.class).forward(blocks(x, mask, null, model));
        }

        private Tensor blocks(Tensor x, Tensor mask, KvCache cache, CausalLM model) {
            @SuppressWarnings("unchecked")
            ModuleList<Block> h = child("h", ModuleList.class);
            for (int i = 0; i < h.size(); i++) {
                Block block = h.get(i);
                int layer = i;
                x = model.runBlock(in -> block.forward(in, mask, cache, layer), x, cache);
            }
            return x;
        }
    }

    /** {@code h.i}: {@code x + attn(ln_1(x))}, then {@code x + mlp(ln_2(x))}. */
    static final class Block extends Module {
        Block(ModelConfig cfg, ParameterSource src, Rng rng, int layer) {
            addModule("ln_1", new LayerNorm(src.under("ln_1"), cfg.hiddenSize(), cfg.normEps()));
            addModule("attn", new SelfAttention(cfg, src.under("attn"), rng, layer));
            addModule("ln_2", new LayerNorm(src.under("ln_2"), cfg.hiddenSize(), cfg.normEps()));
            addModule("mlp", new Mlp(cfg, src.under("mlp"), rng));
        }

        // x (B, T, C) -> (B, T, C)
        Tensor forward(Tensor x, Tensor mask, KvCache cache, int layer) {
            x = x.add(child("attn", SelfAttention.class).forward(child("ln_1", LayerNorm.class).forward(x), mask, cache, layer));
            return x.add(child("mlp", Mlp.class).forward(child("ln_2", LayerNorm.class).forward(x)));
        }
    }

    /** {@code attn}: fused q/k/v projection {@code c_attn}, causal attention, output projection {@code c_proj}. */
    static final class SelfAttention extends Module {
        private final int heads, headDim;
        private final float scale;

        SelfAttention(ModelConfig cfg, ParameterSource src, Rng rng, int layer) {
            int c = cfg.hiddenSize();
            Init normal = Init.normal(cfg.initializerRange());
            addModule("c_attn", new Conv1D(src.under("c_attn"), c, 3 * c, normal));
            addModule("c_proj", new Conv1D(src.under("c_proj"), c, c, Init.normal(cfg.initializerRange() / Math.sqrt(2.0 * cfg.numLayers()))));
            addModule("attn_dropout", new Dropout(cfg.attnDropout(), rng));
            addModule("resid_dropout", new Dropout(cfg.residDropout(), rng));
            heads = cfg.numHeads();
            headDim = cfg.headDim();
            double s = cfg.scaleAttnWeights() ? 1 / Math.sqrt(headDim) : 1;
            scale = (float) (cfg.scaleAttnByInverseLayerIdx() ? s / (layer + 1) : s);
        }

        // x (B, T, C) -> (B, T, C)
        Tensor forward(Tensor x, Tensor mask, KvCache cache, int layer) {
            int b = x.size(0), t = x.size(1), c = heads * headDim;
            Tensor qkv = child("c_attn", LinearLayer.class).forward(x); // (B, T, 3C)
            // (B, T, C) -> (B, H, T, D), each written contiguous once (the scaling does it for q)
            // so that neither the forward nor the backward GEMMs copy them again
            Tensor q = qkv.narrow(2, 0, c).reshape(b, t, heads, headDim).permute(0, 2, 1, 3).mul(scale);
            Tensor k = qkv.narrow(2, c, c).reshape(b, t, heads, headDim).permute(0, 2, 1, 3);
            Tensor v = qkv.narrow(2, 2 * c, c).reshape(b, t, heads, headDim).permute(0, 2, 1, 3);
            if (cache != null) {
                Tensor[] kv = cache.append(layer, k, v);
                k = kv[0];
                v = kv[1];
            } else {
                k = k.contiguous();
                v = v.contiguous();
            }
            Tensor y = Attention.scaledDotProduct(q, k, v, mask, child("attn_dropout", Dropout.class)); // (B, H, T, D)
            y = y.permute(0, 2, 1, 3).reshape(b, t, c);
            return child("resid_dropout", Dropout.class).forward(child("c_proj", LinearLayer.class).forward(y));
        }
    }

    /** {@code mlp}: {@code c_proj(act(c_fc(x)))}, inner size {@code n_inner}. */
    static final class Mlp extends Module {
        private final Activation act;

        Mlp(ModelConfig cfg, ParameterSource src, Rng rng) {
            int c = cfg.hiddenSize(), inner = cfg.intermediateSize();
            addModule("c_fc", new Conv1D(src.under("c_fc"), c, inner, Init.normal(cfg.initializerRange())));
            addModule("c_proj", new Conv1D(src.under("c_proj"), inner, c, Init.normal(cfg.initializerRange() / Math.sqrt(2.0 * cfg.numLayers()))));
            addModule("dropout", new Dropout(cfg.residDropout(), rng));
            act = cfg.activation();
        }

        // x (B, T, C) -> (B, T, C)
        Tensor forward(Tensor x) {
            Tensor h = act.apply(child("c_fc", LinearLayer.class).forward(x));
            return child("dropout", Dropout.class).forward(child("c_proj", LinearLayer.class).forward(h));
        }
    }
}
