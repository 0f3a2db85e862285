package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Conv1D;
import dev.tessera.nn.Linear;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.SafeTensorsFile;
import dev.tessera.nn.models.CausalLM;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizedModelsTest {
    /** The nn module's committed Hugging Face fixtures (tools/fixtures/README.md), from quant's folder. */
    static final Path FIXTURES = Path.of("../nn/src/test/resources/fixtures");
    static final Path GPT2 = FIXTURES.resolve("gpt2-tiny");
    static final Path LLAMA = FIXTURES.resolve("llama-tiny");
    /** tools/fixtures/README.md's fixed batch, first row. */
    static final int[] IDS = {5, 17, 42, 8, 63, 91, 30, 12};

    @TempDir
    Path tmp;

    static BitsAndBytesConfig nf4(DType compute) {
        return new BitsAndBytesConfig(QuantType.NF4, 64, true, compute, null);
    }

    @Test
    void quantizingGpt2ReplacesEveryConv1DButNotTheTiedHead() {
        withModel(GPT2, model -> {
            List<String> done = QuantizedModels.quantize(model, nf4(DType.F32));
            assertEquals(List.of("transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_fc",
                    "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_attn", "transformer.h.1.attn.c_proj",
                    "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj"), done);
            assertInstanceOf(Linear.class, model.getSubmodule("lm_head"));
            assertTrue(model.lmHead().weight() == model.inputEmbeddings().weight(), "head stays tied");
            Linear4bit cAttn = (Linear4bit) model.getSubmodule("transformer.h.0.attn.c_attn");
            assertArrayEquals(new long[] {96, 32}, cAttn.quantState().shape()); // Conv1D [32, 96] quantized as [out, in]
            assertEquals(0, model.namedModules().values().stream().filter(m -> m instanceof Conv1D).count());
        });
    }

    @Test
    void llamaKeepsItsUntiedHeadAndQuantizesEveryProjection() {
        withModel(LLAMA, model -> {
            List<String> done = QuantizedModels.quantize(model, nf4(DType.F32));
            assertEquals(14, done.size()); // 2 layers x (q, k, v, o, gate, up, down)
            assertInstanceOf(Linear.class, model.getSubmodule("lm_head"));
        });
    }

    @Test
    void skipModulesMatchAsTransformersDoes() {
        withModel(GPT2, model -> {
            BitsAndBytesConfig cfg = new BitsAndBytesConfig(QuantType.FP4, 64, false, DType.F32, List.of("lm_head", "mlp.c_proj"));
            List<String> done = QuantizedModels.quantize(model, cfg);
            assertFalse(done.contains("transformer.h.0.mlp.c_proj"));
            assertTrue(done.contains("transformer.h.0.attn.c_proj"));
            assertInstanceOf(Conv1D.class, model.getSubmodule("transformer.h.1.mlp.c_proj"));
        });
        assertTrue(QuantizedModels.skipped("transformer.h.3.attn.c_attn", List.of("transformer\\.h\\.[0-3]\\.")));
        assertFalse(QuantizedModels.skipped("transformer.h.4.attn.c_attn", List.of("transformer\\.h\\.[0-3]\\.")));
    }

    @Test
    void gpt2QuantizeSaveLoadSaveIsBitExact() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        withModel(GPT2, model -> {
            QuantizedModels.quantize(model, nf4(DType.F32));
            QuantizedModels.save(model, a);
        });
        CausalLM loaded = QuantizedModels.load(a);
        try {
            assertEquals(8, QuantizedModels.quantizedLayers(loaded).size());
            QuantizedModels.save(loaded, b);
        } finally {
            loaded.release();
        }
        assertSameFiles(a, b);
    }

    @Test
    void llamaFp4WithoutDoubleQuantRoundTripsBitExact() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        BitsAndBytesConfig cfg = new BitsAndBytesConfig(QuantType.FP4, 32, false, DType.BF16, null);
        quantizeInMemoryAndSave(LLAMA, a, cfg);
        CausalLM loaded = QuantizedModels.load(a);
        try {
            Linear4bit q = (Linear4bit) loaded.getSubmodule("model.layers.0.self_attn.q_proj");
            assertEquals(QuantType.FP4, q.quantState().type());
            assertEquals(32, q.quantState().blocksize());
            assertEquals(DType.BF16, q.computeDtype());
            QuantizedModels.save(loaded, b);
        } finally {
            loaded.release();
        }
        assertSameFiles(a, b);
    }

    @Test
    void savedLayersUseBitsandbytesKeysDtypesAndShapes() {
        Path a = tmp.resolve("a");
        QuantizedModels.quantize(GPT2, a, QuantType.NF4, 64, true);
        try (SafeTensorsFile f = SafeTensors.open(a.resolve("model.safetensors"))) {
            String w = "transformer.h.0.mlp.c_fc.weight"; // Conv1D [32, 128]: 4096 weights, 64 blocks
            assertEquals("U8", f.dtypeName(w));
            assertArrayEquals(new int[] {2048, 1}, f.shape(w));
            assertEquals("U8", f.dtypeName(w + ".absmax"));
            assertArrayEquals(new int[] {64}, f.shape(w + ".absmax"));
            assertArrayEquals(new int[] {16}, f.shape(w + ".quant_map"));
            assertArrayEquals(new int[] {1}, f.shape(w + ".nested_absmax"));
            assertArrayEquals(new int[] {256}, f.shape(w + ".nested_quant_map"));
            String json = new String(f.bytes(w + ".quant_state.bitsandbytes__nf4").toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            assertTrue(json.startsWith("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [128, 32], "
                    + "\"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": "), json);
            assertEquals("F32", f.dtypeName("transformer.h.0.mlp.c_fc.bias"));
            assertEquals("F32", f.dtypeName("transformer.wte.weight"));
            assertFalse(f.contains("lm_head.weight"));
            assertEquals("pt", f.metadata().get("format"));
        }
        assertTrue(Files.exists(a.resolve("generation_config.json")));
    }

    @Test
    void configJsonIsByteForByteWhatTransformersWrites() throws IOException {
        Path a = tmp.resolve("a");
        QuantizedModels.quantize(GPT2, a, QuantType.NF4, 64, true);
        assertEquals(transformers("gpt2-tiny.nf4-dq-float32"), Files.readString(a.resolve("config.json")));

        Path b = tmp.resolve("b");
        QuantizedModels.quantize(GPT2, b, new BitsAndBytesConfig(QuantType.FP4, 64, false, DType.BF16,
                List.of("lm_head", "mlp.c_proj")));
        assertEquals(transformers("gpt2-tiny.fp4-bfloat16-skip"), Files.readString(b.resolve("config.json")));

        Path c = tmp.resolve("c");
        QuantizedModels.quantize(LLAMA, c, BitsAndBytesConfig.qlora());
        assertEquals(transformers("llama-tiny.nf4-dq-bfloat16"), Files.readString(c.resolve("config.json")));
    }

    private static String transformers(String name) throws IOException {
        try (var in = QuantizedModelsTest.class.getResourceAsStream("transformers/" + name + ".config.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aLoadedModelComputesExactlyWhatTheSavedOneDid() {
        Path a = tmp.resolve("a");
        CausalLM model = CausalLM.load(GPT2);
        CausalLM loaded = null;
        try (var scope = Scope.open()) {
            QuantizedModels.quantize(model, nf4(DType.F32));
            QuantizedModels.save(model, a);
            loaded = QuantizedModels.load(a);
            Tensor ids = Tensor.ofInts(IDS, 1, IDS.length);
            assertArrayEquals(model.logits(ids).toFloatArray(), loaded.logits(ids).toFloatArray());
        } finally {
            model.release();
            if (loaded != null) {
                loaded.release();
            }
        }
    }

    @Test
    void quantizedLogitsEqualAPyTorchModelWithTheSameNf4Weights() {
        // tools/fixtures/quant_logits.py: NF4, blocksize 64, float32 absmax, every linear but lm_head
        for (Path dir : List.of(GPT2, LLAMA)) {
            float[][] gotExpected = quantizedAndReferenceLogits(dir, new BitsAndBytesConfig(QuantType.NF4, 64, false, DType.F32, null), "logits");
            float[] got = gotExpected[0], expected = gotExpected[1];
            double maxDiff = 0;
            for (int i = 0; i < expected.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(expected[i] - got[i]));
            }
            assertTrue(maxDiff < 1e-4, dir + ": max |diff| " + maxDiff);
        }
    }

    @Test
    void doubleQuantizedLogitsStayCloseToF32Logits() {
        // Loose: these tiny random models (init range 0.2, width 32) lose a lot to 4 bits
        // (PyTorch's own NF4 round trip: cosine 0.978 for gpt2-tiny, 0.932 for llama-tiny).
        for (Path dir : List.of(GPT2, LLAMA)) {
            float[][] gotExpected = quantizedAndReferenceLogits(dir, nf4(DType.F32), "logits_f32");
            float[] got = gotExpected[0], expected = gotExpected[1];
            double dot = 0, ee = 0, gg = 0;
            for (int i = 0; i < expected.length; i++) {
                dot += (double) expected[i] * got[i];
                ee += (double) expected[i] * expected[i];
                gg += (double) got[i] * got[i];
            }
            double cosine = dot / Math.sqrt(ee * gg);
            System.out.printf("%s NF4 + double quant logits vs F32: cosine %.5f%n", dir.getFileName(), cosine);
            assertTrue(cosine > 0.9, dir + ": cosine " + cosine);
        }
    }

    /**
     * Quantizes the fixture model in {@code dir} with {@code config} and runs it on the input ids of
     * tools/fixtures/quant_logits.py's reference file: {our logits, the reference's {@code expectedKey}}.
     */
    private static float[][] quantizedAndReferenceLogits(Path dir, BitsAndBytesConfig config, String expectedKey) {
        CausalLM model = CausalLM.load(dir);
        try (var scope = Scope.open();
             SafeTensorsFile ref = SafeTensors.open(Path.of("src/test/resources/dev/tessera/quant/nf4-logits")
                     .resolve(dir.getFileName() + ".safetensors"))) {
            QuantizedModels.quantize(model, config);
            return new float[][] {model.logits(ref.load("input_ids")).toFloatArray(), ref.load(expectedKey).toFloatArray()};
        } finally {
            model.release();
        }
    }

    /** Loads the model in {@code dir}, runs {@code use}, and releases the model. */
    static void withModel(Path dir, Consumer<CausalLM> use) {
        CausalLM model = CausalLM.load(dir);
        try {
            use.accept(model);
        } finally {
            model.release();
        }
    }

    /** Loads the model in {@code modelDir}, quantizes it in memory with {@code config} and saves it to {@code out}. */
    static void quantizeInMemoryAndSave(Path modelDir, Path out, BitsAndBytesConfig config) {
        withModel(modelDir, model -> {
            QuantizedModels.quantize(model, config);
            QuantizedModels.save(model, out, config);
        });
    }

    @Test
    void plainFoldersLoadAsPlainModels() {
        CausalLM model = QuantizedModels.load(GPT2);
        try {
            assertFalse(QuantizedModels.isQuantized(GPT2));
            assertTrue(QuantizedModels.quantizedLayers(model).isEmpty());
            assertInstanceOf(Conv1D.class, model.getSubmodule("transformer.h.0.attn.c_attn"));
        } finally {
            model.release();
        }
    }

    @Test
    void aMissingQuantStateTensorIsNamedInTheError() throws IOException {
        Path a = tmp.resolve("a");
        QuantizedModels.quantize(GPT2, a, QuantType.NF4, 64, true);
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(a.resolve("config.json"), broken.resolve("config.json"));
        String dropped = "transformer.h.1.attn.c_proj.weight.absmax";
        try (SafeTensorsFile f = SafeTensors.open(a.resolve("model.safetensors"))) {
            Map<String, SafeTensors.RawTensor> raw = new LinkedHashMap<>();
            for (String name : f.names()) {
                if (!name.equals(dropped)) {
                    raw.put(name, new SafeTensors.RawTensor(f.dtypeName(name), f.shape(name), f.bytes(name)));
                }
            }
            SafeTensors.writeRaw(broken.resolve("model.safetensors"), raw, null);
        }
        TesseraException e = assertThrows(TesseraException.class, () -> QuantizedModels.load(broken));
        assertTrue(e.getMessage().contains(dropped), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void eightBitCheckpointsAreRefusedWithAClearError() throws IOException {
        Path dir = tmp.resolve("int8");
        Files.createDirectories(dir);
        String config = Files.readString(GPT2.resolve("config.json")).replaceFirst("\\{",
                "{\n  \"quantization_config\": {\"quant_method\": \"bitsandbytes\", \"load_in_8bit\": true},");
        Files.writeString(dir.resolve("config.json"), config);
        Files.copy(GPT2.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        TesseraException e = assertThrows(TesseraException.class, () -> QuantizedModels.load(dir));
        assertTrue(e.getMessage().contains("load_in_8bit"), e.getMessage());
    }

    @Test
    void quantizingAQuantizedFolderIsRefused() {
        Path a = tmp.resolve("a");
        QuantizedModels.quantize(GPT2, a, QuantType.NF4, 64, true);
        TesseraException e = assertThrows(TesseraException.class,
                () -> QuantizedModels.quantize(a, tmp.resolve("b"), QuantType.NF4, 64, true));
        assertTrue(e.getMessage().contains("already quantized"), e.getMessage());
    }

    @Test
    void savingAModelWithoutFourBitLayersIsRefused() {
        withModel(GPT2, model -> {
            assertThrows(TesseraException.class, () -> QuantizedModels.save(model, tmp.resolve("x")));
        });
    }

    /** Same file names, same bytes. */
    static void assertSameFiles(Path a, Path b) throws IOException {
        Map<String, byte[]> left = files(a);
        Map<String, byte[]> right = files(b);
        assertEquals(left.keySet(), right.keySet());
        for (String name : left.keySet()) {
            assertArrayEquals(left.get(name), right.get(name), name + " differs");
        }
    }

    private static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        List<Path> paths = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(paths::add);
        }
        for (Path p : paths) {
            out.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        return out;
    }
}
