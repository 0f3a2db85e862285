package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.core.DType;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.nn.models.CausalLM;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A quantized GPT-2 folder (n_embd 32, so c_fc is [out, in] = [128, 32]) edited one tensor at a
 * time, as a foreign or hand-edited checkpoint might be: each problem is named in the one-line
 * error, all of them together, and the tensors transformers tolerates are accepted.
 */
class QuantizedFolderProblemsTest {
    private static final String LN_F = "transformer.ln_f";
    private static final String C_FC = "transformer.h.0.mlp.c_fc";
    private static final int EMBD = 32;

    @TempDir
    static Path shared;
    static Path quantized;

    @TempDir
    Path tmp;

    @BeforeAll
    static void quantizeGpt2() {
        quantized = shared.resolve("nf4");
        QuantizedModels.quantize(QuantizedModelsTest.GPT2, quantized, QuantType.NF4, 64, true);
    }

    @Test
    void wrongShapesDtypesAndMissingOrUnexpectedTensorsAreReportedTogether() throws IOException {
        Path dir = edited(t -> {
            t.put(LN_F + ".bias", f32(new float[EMBD + 1], EMBD + 1));
            t.put(LN_F + ".weight", new SafeTensors.RawTensor("I32", new int[] {EMBD}, MemorySegment.ofArray(new byte[4 * EMBD])));
            t.remove("transformer.wpe.weight");
            t.put("transformer.h.0.extra", f32(new float[2], 2));
        });
        assertEquals(dir + ": checkpoint does not fit the gpt2 model of config.json: "
                + LN_F + ".weight has dtype I32, expected F32, BF16 or F16; "
                + LN_F + ".bias has shape [33], expected [32]; "
                + "missing [transformer.wpe.weight]; unexpected [transformer.h.0.extra]", problem(dir));
    }

    @Test
    void sixteenBitTensorsAreWidenedAndBuffersTransformersSkipsAreIgnored() throws IOException {
        float[] bias = new float[EMBD];
        for (int i = 0; i < EMBD; i++) {
            bias[i] = 0.1f * i - 1.3f;
        }
        float[] weight = new float[EMBD];
        for (int i = 0; i < EMBD; i++) {
            weight[i] = 1f + 0.01f * i;
        }
        Path dir = edited(t -> {
            t.put(LN_F + ".bias", sixteen("BF16", bias));
            t.put(LN_F + ".weight", sixteen("F16", weight));
            t.put("transformer.h.0.attn.bias", f32(new float[4], 4));          // GPT-2's causal mask buffer
            t.put("transformer.h.1.attn.masked_bias", f32(new float[1], 1));
            t.put("model.rotary_emb.inv_freq", f32(new float[2], 2));
            t.put("lm_head.weight", f32(new float[2], 2));                      // tied to wte: transformers skips it
        });
        CausalLM model = QuantizedModels.load(dir);
        try {
            float[] widenedBias = new float[EMBD];
            float[] widenedWeight = new float[EMBD];
            for (int i = 0; i < EMBD; i++) {
                widenedBias[i] = DType.bf16ToFloat(DType.floatToBf16(bias[i]));
                widenedWeight[i] = Float.float16ToFloat(Float.floatToFloat16(weight[i]));
            }
            assertArrayEquals(widenedBias, model.namedParameters().get(LN_F + ".bias").toFloatArray());
            assertArrayEquals(widenedWeight, model.namedParameters().get(LN_F + ".weight").toFloatArray());
            assertEquals(DType.F32, model.namedParameters().get(LN_F + ".bias").dtype());
            assertEquals(8, QuantizedModels.quantizedLayers(model).size());
        } finally {
            model.release();
        }
    }

    @Test
    void fourBitWeightsOfModulesThatAreMissingOrNotLinearAreRefused() throws IOException {
        Path nowhere = edited(t -> copyLayer(t, C_FC, "transformer.h.7.mlp.c_fc"));
        assertEquals(nowhere + ": checkpoint does not fit the gpt2 model of config.json: "
                + "transformer.h.7.mlp.c_fc.weight: 4-bit weight for a module the model does not have", problem(nowhere));

        String state = ".weight.quant_state.bitsandbytes__nf4";
        Path norm = edited(t -> t.put(LN_F + state, t.get(C_FC + state)));
        assertEquals(norm + ": checkpoint does not fit the gpt2 model of config.json: "
                + LN_F + ".weight: 4-bit weight for a LayerNorm, expected a linear layer", problem(norm));
    }

    @Test
    void aFourBitLayerMustHoldU8OrF32TensorsOfItsOwnShape() throws IOException {
        String absmax = C_FC + ".weight.absmax";
        Path f16 = edited(t -> {
            int n = t.get(absmax).shape()[0];
            t.put(absmax, new SafeTensors.RawTensor("F16", new int[] {n}, MemorySegment.ofArray(new byte[2 * n])));
        });
        assertEquals(f16 + ": checkpoint does not fit the gpt2 model of config.json: "
                + absmax + ": dtype F16, expected U8 or F32 in a 4-bit layer", problem(f16));

        // the same element count, transposed: [in, out] where the layer needs [out, in]
        String key = C_FC + ".weight.quant_state.bitsandbytes__nf4";
        Path transposed = edited(t -> {
            String json = new String(t.get(key).bytes().toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            String swapped = json.replace("\"shape\": [128, 32]", "\"shape\": [32, 128]");
            byte[] bytes = swapped.getBytes(StandardCharsets.UTF_8);
            t.put(key, new SafeTensors.RawTensor("U8", new int[] {bytes.length}, MemorySegment.ofArray(bytes)));
        });
        assertEquals(transposed + ": checkpoint does not fit the gpt2 model of config.json: "
                + C_FC + ".weight: quant_state shape [32, 128], expected [out, in] = [128, 32]", problem(transposed));
    }

    /** The quantized folder with its tensors (name -> raw bytes, file order) changed by {@code edit}. */
    private Path edited(Consumer<Map<String, SafeTensors.RawTensor>> edit) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "edited");
        Files.copy(quantized.resolve("config.json"), dir.resolve("config.json"));
        try (SafeTensorsFile f = SafeTensors.open(quantized.resolve("model.safetensors"))) {
            Map<String, SafeTensors.RawTensor> tensors = new LinkedHashMap<>();
            for (String name : f.names()) {
                byte[] copy = f.bytes(name).toArray(ValueLayout.JAVA_BYTE);
                tensors.put(name, new SafeTensors.RawTensor(f.dtypeName(name), f.shape(name), MemorySegment.ofArray(copy)));
            }
            edit.accept(tensors);
            SafeTensors.writeRaw(dir.resolve("model.safetensors"), tensors, null);
        }
        return dir;
    }

    /** Every tensor of 4-bit layer {@code from} once more under module name {@code to}. */
    private static void copyLayer(Map<String, SafeTensors.RawTensor> t, String from, String to) {
        Map<String, SafeTensors.RawTensor> copies = new LinkedHashMap<>();
        t.forEach((name, raw) -> {
            if (name.startsWith(from + ".weight")) {
                copies.put(to + name.substring(from.length()), raw);
            }
        });
        t.putAll(copies);
    }

    private static String problem(Path dir) {
        return assertThrows(TesseraException.class, () -> QuantizedModels.load(dir)).getMessage();
    }

    private static SafeTensors.RawTensor f32(float[] values, int... shape) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return new SafeTensors.RawTensor("F32", shape, MemorySegment.ofArray(b.array()));
    }

    private static SafeTensors.RawTensor sixteen(String dtype, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(dtype.equals("BF16") ? DType.floatToBf16(v) : Float.floatToFloat16(v));
        }
        return new SafeTensors.RawTensor(dtype, new int[] {values.length}, MemorySegment.ofArray(b.array()));
    }
}
