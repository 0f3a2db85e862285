package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import org.junit.jupiter.api.Test;

/**
 * LoRA over a layer that is not {@code Linear}: a stand-in for a quantized layer whose
 * {@code weight()} is a decoded copy and whose stored weight is packed bytes. This is the
 * QLoRA shape: forward goes through the layer's own forward, merging through its
 * {@code addToWeight}, and PEFT counts two values per packed byte.
 */
class AnyLinearLayerTest {
    /** Weight kept as BF16 "codes" plus a U8 "weight" parameter of half the values, as 4-bit layers hold it. */
    static final class PackedStandIn extends Module implements LinearLayer {
        private final Tensor codes; // [out, in] BF16, not a parameter
        int additions;

        PackedStandIn(int in, int out, Rng rng) {
            codes = Scope.unowned(() -> rng.randn(out, in).cast(DType.BF16));
            addParameter("weight", Scope.unowned(() -> Tensor.zeros(DType.U8, dev.tessera.core.Device.CPU, out * in / 2, 1)));
        }

        @Override
        public Tensor forward(Tensor x) {
            return x.matmul(weight().t());
        }

        @Override
        public int inFeatures() {
            return codes.size(1);
        }

        @Override
        public int outFeatures() {
            return codes.size(0);
        }

        /** Two 4-bit values per byte of the packed weight, as quant's Linear4bit says through the contract. */
        @Override
        public long valueCount(Tensor parameter) {
            return parameter == localParameter("weight") ? 2 * parameter.numel() : parameter.numel();
        }

        /** A decoded copy: writing into it would change nothing. */
        @Override
        public Tensor weight() {
            return codes.cast(DType.F32);
        }

        @Override
        public Tensor bias() {
            return null;
        }

        @Override
        public void addToWeight(Tensor deltaOutIn) {
            additions++;
            try (var ng = Autograd.noGrad()) {
                codes.copyFrom(weight().add(deltaOutIn)); // decode, add, encode
            }
        }
    }

    @Test
    void loraWrapsItAndMergesThroughAddToWeight() {
        PackedStandIn base = new PackedStandIn(16, 8, new Rng(0));
        LoraLinear lora = new LoraLinear(base, 4, 8, 0.0, new Rng(1));
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            lora.loraB("default").weight().copyFrom(new Rng(2).randn(8, 4));
            Tensor x = new Rng(3).randn(3, 16);
            float[] unmerged = lora.forward(x).toFloatArray();
            lora.merge();
            assertEquals(1, base.additions);
            double err = PeftFixtures.maxAbs(unmerged, lora.forward(x).toFloatArray());
            assertTrue(err <= 0.1, "merged within BF16 rounding, off by " + err); // the stand-in stores BF16
            lora.unmerge();
            assertEquals(2, base.additions);
        }
    }

    @Test
    void packedWeightsCountTwoValuesPerByteAsPeftCountsParams4bit() {
        dev.tessera.nn.models.CausalLM model = PeftFixtures.base("gpt2-tiny");
        long plain = model.parameterCount(false);
        model.setSubmodule("transformer.h.0.mlp.c_fc", new PackedStandIn(32, 128, new Rng(0))); // drops 32·128 + 128 values
        PeftModel peft = PeftModel.of(model, LoraConfig.defaults());
        long lora = 2 * (8 * 32 + 96 * 8);
        assertEquals(plain - 128 + lora, peft.trainableParameterCounts()[1], "2,048 packed bytes count as the 4,096 weights they hold");
        peft.release();
    }
}
