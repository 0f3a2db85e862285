package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.tessera.nn.io.PythonJson;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantStateTest {
    private static final String W = "model.layers.0.mlp.down_proj.weight";

    @Test
    void doubleQuantizedStateUsesBitsandbytesKeysDtypesAndShapes() {
        Quantized4Bit q = Quantized4Bit.quantize(Quantized4BitTest.gaussian(128 * 96, 1), new long[] {128, 96},
                QuantType.NF4, 64, true);
        Map<String, StoredTensor> t = q.toTensors(W);
        assertEquals(List.of(W, W + ".absmax", W + ".quant_map", W + ".nested_absmax", W + ".nested_quant_map",
                W + ".quant_state.bitsandbytes__nf4"), List.copyOf(t.keySet()));
        assertStored(t.get(W), "U8", 128 * 96 / 2, 1);
        assertStored(t.get(W + ".absmax"), "U8", 192);
        assertStored(t.get(W + ".quant_map"), "F32", 16);
        assertStored(t.get(W + ".nested_absmax"), "F32", 1);
        assertStored(t.get(W + ".nested_quant_map"), "F32", 256);
        assertArrayEquals(QuantType.NF4.code(), t.get(W + ".quant_map").toFloats());
        assertArrayEquals(DynamicMap.signed(), t.get(W + ".nested_quant_map").toFloats());
    }

    @Test
    void plainStateHasFloatAbsmaxAndNoNestedKeys() {
        Quantized4Bit q = Quantized4Bit.quantize(Quantized4BitTest.gaussian(1000, 2), new long[] {1000},
                QuantType.FP4, 128, false);
        Map<String, StoredTensor> t = q.toTensors(W);
        assertEquals(List.of(W, W + ".absmax", W + ".quant_map", W + ".quant_state.bitsandbytes__fp4"),
                List.copyOf(t.keySet()));
        assertStored(t.get(W), "U8", 500, 1);
        assertStored(t.get(W + ".absmax"), "F32", 8);
        assertEquals("{\"quant_type\": \"fp4\", \"blocksize\": 128, \"dtype\": \"float32\", \"shape\": [1000]}",
                json(t.get(W + ".quant_state.bitsandbytes__fp4")));
    }

    @Test
    void jsonIsWhatPythonJsonDumpsWrites() {
        QuantState.DoubleQuant dq = new QuantState.DoubleQuant(new byte[2], new float[] {1f}, DynamicMap.signed(), 256,
                0.1f, "float32");
        QuantState s = new QuantState(QuantType.NF4, 64, new long[] {2, 64}, "bfloat16", QuantType.NF4.code(), null, dq);
        assertEquals("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"bfloat16\", \"shape\": [2, 64], "
                        + "\"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 0.10000000149011612}",
                json(s.toTensors(W).get(W + ".quant_state.bitsandbytes__nf4")));
    }

    @Test
    void aBitsandbytesStateReadsAndWritesBackByteForByte() {
        String json = "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float16\", \"shape\": [3, 128], "
                + "\"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 0.0284000001847744}";
        byte[] jsonBytes = json.getBytes(StandardCharsets.UTF_8);
        Map<String, StoredTensor> file = new LinkedHashMap<>();
        byte[] packed = new byte[192];
        new Random(5).nextBytes(packed);
        file.put(W, StoredTensor.u8(packed, 192, 1));
        file.put(W + ".absmax", StoredTensor.u8(new byte[] {3, (byte) 200, 127, 0, (byte) 255, 9}, 6));
        file.put(W + ".quant_map", StoredTensor.f32(QuantType.NF4.code(), 16));
        file.put(W + ".nested_absmax", StoredTensor.f32(new float[] {0.731f}, 1));
        file.put(W + ".nested_quant_map", StoredTensor.f32(DynamicMap.signed(), 256));
        file.put(W + ".quant_state.bitsandbytes__nf4", StoredTensor.u8(jsonBytes, jsonBytes.length));

        Quantized4Bit q = Quantized4Bit.fromTensors(W, file);
        assertEquals("float16", q.state().dtype());
        assertEquals(0.0284000001847744, (double) q.state().doubleQuant().offset(), 0.0);
        assertEquals(file, q.toTensors(W));
    }

    @Test
    void serializedStatesRoundTripBitExact() {
        qt().withFixedSeed(21).withExamples(120)
                .forAll(integers().between(1, 4), integers().between(5, 12), arbitrary().enumValues(QuantType.class), longs().all())
                .checkAssert((rank, log2bs, type, seed) -> {
                    Random rng = new Random(seed);
                    long[] shape = new long[rank];
                    int n = 1;
                    for (int d = 0; d < rank; d++) {
                        shape[d] = 1 + rng.nextInt(d == 0 ? 700 : 9);
                        n *= (int) shape[d];
                    }
                    float[] x = Quantized4BitTest.scaledGaussian(n, seed);
                    String dtype = List.of("float32", "float16", "bfloat16").get(rng.nextInt(3));
                    Quantized4Bit q = Quantized4Bit.quantize(x, shape, type, 1 << log2bs, rng.nextBoolean());
                    q = new Quantized4Bit(q.packed(), q.state().withDtype(dtype));
                    Map<String, StoredTensor> saved = q.toTensors(W);
                    Quantized4Bit loaded = Quantized4Bit.fromTensors(W, saved);
                    assertEquals(q, loaded);
                    assertEquals(saved, loaded.toTensors(W));
                });
    }

    @Test
    void otherKeysInTheFileAreIgnored() {
        Quantized4Bit q = Quantized4Bit.quantize(new float[] {1f, 2f, 3f}, new long[] {3}, QuantType.NF4, 64, true);
        Map<String, StoredTensor> file = new LinkedHashMap<>(q.toTensors(W));
        file.putAll(Quantized4Bit.quantize(new float[] {4f}, new long[] {1}, QuantType.FP4, 64, false).toTensors("lm_head.weight"));
        file.put(W.replace("weight", "bias"), StoredTensor.f32(new float[] {1f}, 1));
        assertEquals(q, Quantized4Bit.fromTensors(W, file));
    }

    @Test
    void malformedStatesAreRejectedNamingTheKey() {
        Quantized4Bit q = Quantized4Bit.quantize(Quantized4BitTest.gaussian(640, 6), new long[] {640}, QuantType.NF4, 64, true);

        Map<String, StoredTensor> missing = new LinkedHashMap<>(q.toTensors(W));
        missing.remove(W + ".nested_absmax");
        assertMessage(missing, W + ".nested_absmax");

        Map<String, StoredTensor> shortAbsmax = new LinkedHashMap<>(q.toTensors(W));
        shortAbsmax.put(W + ".absmax", StoredTensor.u8(new byte[9], 9));
        assertMessage(shortAbsmax, W + ".absmax");

        Map<String, StoredTensor> badJson = new LinkedHashMap<>(q.toTensors(W));
        byte[] garbage = "{\"quant_type\": \"nf4\", \"blocksize\": 63".getBytes(StandardCharsets.UTF_8);
        badJson.put(W + ".quant_state.bitsandbytes__nf4", StoredTensor.u8(garbage, garbage.length));
        assertMessage(badJson, W + ".quant_state.bitsandbytes__nf4");

        Map<String, StoredTensor> wrongType = new LinkedHashMap<>(q.toTensors(W));
        StoredTensor state = wrongType.remove(W + ".quant_state.bitsandbytes__nf4");
        wrongType.put(W + ".quant_state.bitsandbytes__fp4", state);
        assertMessage(wrongType, W + ".quant_state.bitsandbytes__fp4");

        Map<String, StoredTensor> noState = new LinkedHashMap<>(q.toTensors(W));
        noState.remove(W + ".quant_state.bitsandbytes__nf4");
        assertMessage(noState, W);

        Map<String, StoredTensor> shortWeight = new LinkedHashMap<>(q.toTensors(W));
        shortWeight.put(W, StoredTensor.u8(new byte[3], 3, 1));
        assertMessage(shortWeight, W + ":");

        Map<String, StoredTensor> badBlocksize = new LinkedHashMap<>(q.toTensors(W));
        byte[] bs48 = "{\"quant_type\": \"nf4\", \"blocksize\": 48, \"dtype\": \"float32\", \"shape\": [640]}"
                .getBytes(StandardCharsets.UTF_8);
        badBlocksize.remove(W + ".nested_absmax");
        badBlocksize.put(W + ".quant_state.bitsandbytes__nf4", StoredTensor.u8(bs48, bs48.length));
        assertMessage(badBlocksize, W + ".quant_state.bitsandbytes__nf4");
    }

    @Test
    void pythonReprOfFloats() {
        assertEquals("0.10000000149011612", PythonJson.pythonFloat(0.1f));
        assertEquals("0.1", PythonJson.pythonFloat(0.1));
        assertEquals("1e-05", PythonJson.pythonFloat(1e-5));
        assertEquals("0.0001", PythonJson.pythonFloat(1e-4));
        assertEquals("1.5e-07", PythonJson.pythonFloat(1.5e-7));
        assertEquals("123.0", PythonJson.pythonFloat(123.0));
        assertEquals("-2.5", PythonJson.pythonFloat(-2.5));
        assertEquals("1234567890123456.0", PythonJson.pythonFloat(1234567890123456.0));
        assertEquals("1e+16", PythonJson.pythonFloat(1e16));
        assertEquals("1.2345678901234568e+16", PythonJson.pythonFloat(12345678901234567.0));
        assertEquals("5e-324", PythonJson.pythonFloat(Double.MIN_VALUE));
        assertEquals("1.7976931348623157e+308", PythonJson.pythonFloat(Double.MAX_VALUE));
        assertEquals("0.0", PythonJson.pythonFloat(0.0));
        assertEquals("-0.0", PythonJson.pythonFloat(-0.0));
    }

    @Test
    void pythonReprReadsBackAsTheSameDouble() {
        qt().withFixedSeed(3).withExamples(2000).forAll(longs().all(), booleans().all()).checkAssert((bits, asFloat) -> {
            double d = asFloat ? (double) Float.intBitsToFloat((int) (long) bits) : Double.longBitsToDouble(bits);
            if (Double.isFinite(d)) {
                String s = PythonJson.pythonFloat(d);
                assertEquals(d, Double.parseDouble(s), 0.0, s);
                assertTrue(s.length() <= Double.toString(d).length() + 4, s);
            }
        });
    }

    private static void assertStored(StoredTensor t, String dtype, long... shape) {
        assertEquals(dtype, t.dtype());
        assertArrayEquals(shape, t.shape());
    }

    private static String json(StoredTensor t) {
        return new String(t.data(), StandardCharsets.UTF_8);
    }

    private static void assertMessage(Map<String, StoredTensor> file, String key) {
        var e = assertThrows(IllegalArgumentException.class, () -> Quantized4Bit.fromTensors(W, file));
        assertTrue(e.getMessage().startsWith(key), "message should name " + key + ": " + e.getMessage());
    }
}
