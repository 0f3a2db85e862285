package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import org.junit.jupiter.api.Test;

class QuantMemoryReportTest {
    /** GPT-2 with 256-wide layers: each linear weight spans several nested blocks of 256 absmax. */
    static CausalLM gpt2(int width, int layers) {
        return CausalLM.create(ModelConfig.parse("""
                {"model_type": "gpt2", "vocab_size": 96, "n_positions": 32, "n_embd": %d, "n_layer": %d, "n_head": 4}"""
                .formatted(width, layers), "inline"), 7);
    }

    @Test
    void doubleQuantizedLayersCost4point127BitsPerWeightAnd7point7TimesLessThanF32() {
        CausalLM model = gpt2(256, 2);
        try {
            long linearWeights = 2L * (256 * 768 + 256 * 256 + 256 * 1024 + 1024 * 256);
            QuantizedModels.quantize(model, new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F32, null));
            QuantMemory.Report r = QuantMemory.report(model);
            System.out.print(r.toText());
            assertEquals(8, r.layers());
            assertEquals(linearWeights, r.weights());
            assertEquals(linearWeights / 2, r.codeBytes());
            assertEquals(linearWeights / 64, r.absmaxBytes());
            assertEquals(0.127, r.statisticsBitsPerWeight(), 0.001);
            assertEquals(4.127, r.bitsPerWeight(), 0.001);
            assertEquals(4.127 / 8, r.bytesPerWeight(), 0.0002);
            assertTrue(r.reductionVsF32() > 7.7 && r.reductionVsF32() < 7.8, "reduction " + r.reductionVsF32());
            long summed = QuantizedModels.quantizedLayers(model).values().stream().mapToLong(Linear4bit::weightBytes).sum();
            assertEquals(summed, r.quantizedBytes());
            long other = model.namedParameters().values().stream()
                    .filter(t -> t.dtype() == DType.F32).mapToLong(Tensor::numel).sum() * 4;
            assertEquals(other, r.otherBytes());
        } finally {
            model.release();
        }
    }

    @Test
    void plainAbsmaxCostsHalfABitPerWeight() {
        CausalLM model = gpt2(128, 1);
        try {
            QuantizedModels.quantize(model, new BitsAndBytesConfig(QuantType.FP4, 64, false, DType.F32, null));
            QuantMemory.Report r = QuantMemory.report(model);
            assertEquals(0.5, r.statisticsBitsPerWeight(), 0.0);
            assertEquals(0, r.nestedBytes());
            assertEquals(4.0 / 4.5 * 8, r.reductionVsF32(), 1e-9);
            assertTrue(r.toText().contains("fp4, blocksize 64"), r.toText());
        } finally {
            model.release();
        }
    }
}
