package dev.tessera.nn.models;

import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Activation;
import dev.tessera.nn.Attention;
import dev.tessera.nn.Dropout;
import dev.tessera.nn.Embedding;
import dev.tessera.nn.Init;
import dev.tessera.nn.KvCache;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.ModuleList;
import dev.tessera.nn.ParameterSource;
import dev.tessera.nn.RmsNorm;
import dev.tessera.nn.RotaryEmbedding;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The Llama family as transformers' {@code LlamaForCausalLM} (also Mistral, SmolLM, TinyLlama,
 * and Qwen2 with its q/k/v biases): RMS-normed pre-norm layers, rotary positions,
 * grouped-query attention over {@code num_key_value_heads}, a SiLU-gated MLP, and an output
 * head tied to {@code embed_tokens} or not per {@code tie_word_embeddings}.
 *
 * <pre>{@code
 * LlamaModel llama = (LlamaModel) CausalLM.load(Path.of("models/SmolLM2-135M"));
 * Linear q = (Linear) llama.getSubmodule("model.layers.0.self_attn.q_proj");
 * }</pre>
 */
public final class LlamaModel extends CausalLM {
    LlamaModel(ModelConfig cfg, ParameterSource src, Rng dropoutRng) {
        super(cfg, dropoutRng);
        addDecoderAndHead("model", new Body(cfg, src.under("model"), dropoutRng), src);
    }

    /**
     * Where the rotary angles come from: positions {@code start, start + 1, ...} for every row
     * (the cached path), or angles gathered per token for packed rows, once per forward.
     */
    record Rotation(RotaryEmbedding rope, int start, RotaryEmbedding.Angles queryAngles, RotaryEmbedding.Angles keyAngles) {
        // q (B, H, T, D) -> rotated and multiplied by scale (packed query angles already carry it)
        Tensor rotateQuery(Tensor q, float scale) {
            return queryAngles == null ? rope.apply(q, start, scale) : rope.apply(q, queryAngles);
        }

        // k (B, Hkv, T, D) -> rotated
        Tensor rotateKey(Tensor k) {
            return keyAngles == null ? rope.apply(k, start, 1f) : rope.apply(k, keyAngles);
        }
    }

    /** {@code model}: {@code embed_tokens}, decoder {@code layers}, final {@code norm}. */
    static final class Body extends Module implements Decoder {
        private final RotaryEmbedding rope;
        private final int[] windows;
        private final float queryScale;

        Body(ModelConfig cfg, ParameterSource src, Rng rng) {
            addModule("embed_tokens", new Embedding(src.under("embed_tokens"), cfg.vocabSize(), cfg.hiddenSize(),
                    Init.normal(cfg.initializerRange())));
            ModuleList<DecoderLayer> layers = addModule("layers", new ModuleList<>(DecoderLayer.class));
            windows = new int[cfg.numLayers()];
            for (int i = 0; i < cfg.numLayers(); i++) {
                layers.add(new DecoderLayer(cfg, src.under("layers." + i), rng));
                windows[i] = cfg.slidingWindow(i);
            }
            addModule("norm", new RmsNorm(src.under("norm"), cfg.hiddenSize(), cfg.normEps()));
            rope = new RotaryEmbedding(cfg.ropeInverseFrequencies());
            queryScale = SelfAttention.queryScale(cfg);
        }

        @Override
        public Embedding tokenEmbedding() {
            return child("embed_tokens", Embedding.class);
        }

        // embeds (B, T, C) -> (B, T, C)
        @Override
        public Tensor forward(Tensor embeds, KvCache cache, CausalLM model) {
            int t = embeds.size(1);
            int start = cache == null ? 0 : cache.length();
            Tensor x = layers(embeds, w -> {
                Tensor m = Attention.causalMask(t, start + t, w);
                return m == null ? null : m.to(embeds.device());
            }, cache, new Rotation(rope, start, null, null), model);
            if (cache != null) {
                cache.advance(t);
            }
            return child("norm", RmsNorm.class).forward(x);
        }

        // packed rows: embeds (B, T, C), positionIds (B, T) -> (B, T, C)
        @Override
        public Tensor forward(Tensor embeds, Tensor positionIds, long[] sequenceIds, CausalLM model) {
            int b = embeds.size(0), t = embeds.size(1);
            Rotation rotation = new Rotation(rope, 0, rope.angles(positionIds, queryScale), rope.angles(positionIds, 1f));
            // (B, 1, 1, T, T)
            Tensor x = layers(embeds, w -> Attention.sequenceMask(sequenceIds, b, t, w).to(embeds.device()), null, rotation, model);
            return child("norm", RmsNorm.class).forward(x);
        }

        // x (B, T, C) through every decoder layer, with maskFor(window) made once per distinct window
        private Tensor layers(Tensor x, IntFunction<Tensor> maskFor, KvCache cache, Rotation rotation, CausalLM model) {
            Map<Integer, Tensor> masks = new HashMap<>();
            @SuppressWarnings("unchecked")
            ModuleList<DecoderLayer> layers = child("layers", ModuleList.class);
            for (int i = 0; i < layers.size(); i++) {
                Tensor mask = masks.computeIfAbsent(windows[i], maskFor::apply);
                DecoderLayer layer = layers.get(i);
                int index = i;
                x = model.runBlock(in -> layer.forward(in, mask, cache, index, rotation), x, cache);
            }
            return x;
        }
    }

    /** {@code layers.i}: {@code x + self_attn(input_layernorm(x))}, then {@code x + mlp(post_attention_layernorm(x))}. */
    static final class DecoderLayer extends Module {
        DecoderLayer(ModelConfig cfg, ParameterSource src, Rng rng) {
            addModule("self_attn", new SelfAttention(cfg, src.under("self_attn"), rng));
            addModule("mlp", new Mlp(cfg, src.under("mlp")));
            addModule("input_layernorm", new RmsNorm(src.under("input_layernorm"), cfg.hiddenSize(), cfg.normEps()));
            addModule("post_attention_layernorm", new RmsNorm(src.under("post_attention_layernorm"), cfg.hiddenSize(), cfg.normEps()));
        }

        // x (B, T, C) -> (B, T, C)
        Tensor forward(Tensor x, Tensor mask, KvCache cache, int layer, Rotation rotation) {
            Tensor h = child("input_layernorm", RmsNorm.class).forward(x);
            x = x.add(child("self_attn", SelfAttention.class).forward(h, mask, cache, layer, rotation));
            h = child("post_attention_layernorm", RmsNorm.class).forward(x);
            return x.add(child("mlp", Mlp.class).forward(h));
        }
    }

    /** {@code self_attn}: q/k/v projections, rotary positions, grouped-query causal attention, {@code o_proj}. */
    static final class SelfAttention extends Module {
        private final int heads, kvHeads, headDim;
        private final float scale;

        SelfAttention(ModelConfig cfg, ParameterSource src, Rng rng) {
            int c = cfg.hiddenSize();
            heads = cfg.numHeads();
            kvHeads = cfg.numKvHeads();
            headDim = cfg.headDim();
            Init normal = Init.normal(cfg.initializerRange());
            addModule("q_proj", new Linear(src.under("q_proj"), c, heads * headDim, cfg.qkvBias(), normal));
            addModule("k_proj", new Linear(src.under("k_proj"), c, kvHeads * headDim, cfg.qkvBias(), normal));
            addModule("v_proj", new Linear(src.under("v_proj"), c, kvHeads * headDim, cfg.qkvBias(), normal));
            addModule("o_proj", new Linear(src.under("o_proj"), heads * headDim, c, cfg.outputBias(), normal));
            addModule("attn_dropout", new Dropout(cfg.attnDropout(), rng));
            scale = queryScale(cfg);
        }

        static float queryScale(ModelConfig cfg) {
            return (float) (1 / Math.sqrt(cfg.headDim()));
        }

        // x (B, T, C) -> (B, T, C)
        Tensor forward(Tensor x, Tensor mask, KvCache cache, int layer, Rotation rotation) {
            int b = x.size(0), t = x.size(1);
            // (B, T, H·D) -> (B, H, T, D) views; the rotation writes them contiguous, q also scaled
            Tensor q = child("q_proj", LinearLayer.class).forward(x).reshape(b, t, heads, headDim).permute(0, 2, 1, 3);
            Tensor k = child("k_proj", LinearLayer.class).forward(x).reshape(b, t, kvHeads, headDim).permute(0, 2, 1, 3);
            Tensor v = child("v_proj", LinearLayer.class).forward(x).reshape(b, t, kvHeads, headDim).permute(0, 2, 1, 3);
            q = rotation.rotateQuery(q, scale);
            k = rotation.rotateKey(k);
            if (cache != null) {
                Tensor[] kv = cache.append(layer, k, v);
                k = kv[0];
                v = kv[1];
            } else {
                v = v.contiguous(); // once, rather than in both the forward and the backward GEMM
            }
            Tensor y = Attention.scaledDotProduct(q, k, v, mask, child("attn_dropout", Dropout.class)); // (B, H, T, D)
            y = y.permute(0, 2, 1, 3).reshape(b, t, heads * headDim);
            return child("o_proj", LinearLayer.class).forward(y);
        }
    }

    /** {@code mlp}: {@code down_proj(act(gate_proj(x)) · up_proj(x))}. */
    static final class Mlp extends Module {
        private final Activation act;

        Mlp(ModelConfig cfg, ParameterSource src) {
            int c = cfg.hiddenSize(), inner = cfg.intermediateSize();
            Init normal = Init.normal(cfg.initializerRange());
            addModule("gate_proj", new Linear(src.under("gate_proj"), c, inner, cfg.mlpBias(), normal));
            addModule("up_proj", new Linear(src.under("up_proj"), c, inner, cfg.mlpBias(), normal));
            addModule("down_proj", new Linear(src.under("down_proj"), inner, c, cfg.mlpBias(), normal));
            act = cfg.activation();
        }

        // x (B, T, C) -> (B, T, C)
        Tensor forward(Tensor x) {
            Tensor gate = act.apply(child("gate_proj", LinearLayer.class).forward(x));
            return child("down_proj", LinearLayer.class).forward(gate.mul(child("up_proj", LinearLayer.class).forward(x)));
        }
    }
}
