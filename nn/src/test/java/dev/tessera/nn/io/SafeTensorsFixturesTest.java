package dev.tessera.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed files written by real PyTorch + safetensors 0.8.0 (tools/fixtures/make_models.py). */
class SafeTensorsFixturesTest {
    private static final Path GPT2_TINY = Path.of("src/test/resources/fixtures/gpt2-tiny");

    @TempDir
    Path dir;

    @Test
    void readsTheGpt2TinyModelWrittenByPyTorch() {
        try (SafeTensorsFile f = SafeTensors.open(GPT2_TINY.resolve("model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(28, f.names().size(), "2 blocks of 12, ln_f weight and bias, wte, wpe");
            assertTrue(f.names().stream().noneMatch(n -> n.startsWith("lm_head")), "lm_head is tied to wte and not saved");
            for (String name : f.names()) {
                assertEquals("F32", f.dtypeName(name), name);
                assertEquals(DType.F32, f.tensor(name).dtype());
            }
            assertArrayEquals(new int[] {96, 32}, f.shape("transformer.wte.weight"));
            assertArrayEquals(new int[] {32, 32}, f.shape("transformer.wpe.weight"));
            assertArrayEquals(new int[] {32, 96}, f.shape("transformer.h.0.attn.c_attn.weight"), "Conv1D stores [in, out]");
            assertArrayEquals(new int[] {96}, f.shape("transformer.h.1.attn.c_attn.bias"));
            assertArrayEquals(new int[] {128, 32}, f.shape("transformer.h.1.mlp.c_proj.weight"));
            assertArrayEquals(new int[] {32}, f.shape("transformer.ln_f.weight"));
        }
    }

    @Test
    void readsTheReferenceBatchLossAndLogits() {
        try (SafeTensorsFile f = SafeTensors.open(GPT2_TINY.resolve("reference.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            Tensor ids = f.tensor("input_ids");
            assertEquals(DType.I64, ids.dtype());
            assertArrayEquals(new long[] {5, 17, 42, 8, 63, 91, 30, 12, 77, 3, 56, 21, 9, 48, 85, 34}, ids.toLongArray());
            assertArrayEquals(new long[] {-100, -100, 42, 8, 63, 91, 30, 12, 77, 3, 56, -100, 9, 48, 85, -100},
                    f.tensor("labels").toLongArray());
            assertEquals("F32", f.dtypeName("logits"));
            assertArrayEquals(new int[] {2, 8, 96}, f.shape("logits"));
            assertArrayEquals(new int[] {1}, f.shape("loss"));
            assertEquals(5.31834602355957f, f.tensor("loss").item(), "versions.json records the torch loss");
            assertArrayEquals(f.shape("grad.transformer.wte.weight"), new int[] {96, 32});
        }
    }

    @Test
    void rewritingAPyTorchFileReproducesItByteForByte() throws IOException {
        for (String file : new String[] {"model.safetensors", "reference.safetensors", "adamw_reference.safetensors"}) {
            Path original = GPT2_TINY.resolve(file);
            Path copy = dir.resolve(file);
            try (SafeTensorsFile f = SafeTensors.open(original)) {
                Map<String, Tensor> tensors = new LinkedHashMap<>();
                for (String name : f.names()) {
                    tensors.put(name, f.tensor(name));
                }
                SafeTensors.write(copy, tensors, f.metadata());
            }
            StBytes.assertSameBytes(Files.readAllBytes(original), Files.readAllBytes(copy));
        }
    }
}
