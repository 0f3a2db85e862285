package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the quantizing entry points report (progress, the folder summary), which files a folder
 * quantization carries along, and transformers' module-skipping rule at its edges.
 */
class QuantizedModelsProgressTest {
    private static final List<String> GPT2_LAYERS = List.of("transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj",
            "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_attn",
            "transformer.h.1.attn.c_proj", "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj");

    @TempDir
    Path tmp;

    private static List<String> steps(List<int[]> calls) {
        List<String> out = new ArrayList<>();
        calls.forEach(c -> out.add(c[0] + "/" + c[1]));
        return out;
    }

    @Test
    void inMemoryQuantizationCountsEveryLinearLayerIncludingTheSkippedHead() {
        CausalLM model = CausalLM.load(QuantizedModelsTest.GPT2);
        List<int[]> calls = new ArrayList<>();
        try {
            List<String> done = QuantizedModels.quantize(model, QuantizedModelsTest.nf4(DType.F32),
                    (d, n) -> calls.add(new int[] {d, n}));
            assertEquals(GPT2_LAYERS, done);
        } finally {
            model.release();
        }
        // 8 Conv1D layers and the (tied) head: 9 candidates, each reported once, in order
        assertEquals(List.of("1/9", "2/9", "3/9", "4/9", "5/9", "6/9", "7/9", "8/9", "9/9"), steps(calls));
    }

    @Test
    void streamingLoadCountsTheLayersItQuantizes() {
        List<int[]> calls = new ArrayList<>();
        CausalLM model = QuantizedModels.loadIn4bit(QuantizedModelsTest.GPT2, QuantizedModelsTest.nf4(DType.F32), null,
                (d, n) -> calls.add(new int[] {d, n}));
        try {
            assertEquals(GPT2_LAYERS, new ArrayList<>(QuantizedModels.quantizedLayers(model).keySet()));
        } finally {
            model.release();
        }
        assertEquals(List.of("1/8", "2/8", "3/8", "4/8", "5/8", "6/8", "7/8", "8/8"), steps(calls));
    }

    @Test
    void folderQuantizationSaysWhatItQuantizedAndKeptAndCopiesOnlyCompanionFiles() throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        try (var files = Files.list(QuantizedModelsTest.GPT2)) {
            for (Path f : files.toList()) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        Files.writeString(model.resolve("tokenizer.json"), "{\"version\": \"1.0\"}");
        Files.writeString(model.resolve("chat_template.jinja"), "{{ messages }}");
        Files.writeString(model.resolve("notes.txt"), "not part of a model");
        Path out = tmp.resolve("out");

        QuantizedModels.FolderSummary summary = QuantizedModels.quantizeFolder(model, out, QuantizedModelsTest.nf4(DType.F32));
        assertEquals(GPT2_LAYERS, summary.quantized());
        assertEquals(List.of("lm_head"), summary.kept(), "the head is tied to the embeddings");
        for (String name : List.of("tokenizer.json", "chat_template.jinja", "generation_config.json")) {
            assertArrayEquals(Files.readAllBytes(model.resolve(name)), Files.readAllBytes(out.resolve(name)), name);
        }
        for (String name : List.of("notes.txt", "versions.json", "reference.safetensors")) {
            assertFalse(Files.exists(out.resolve(name)), name + " is not carried along");
        }
        assertTrue(QuantizedModels.isQuantized(out));
        assertFalse(QuantizedModels.isQuantized(model));

        TesseraException same = assertThrows(TesseraException.class,
                () -> QuantizedModels.quantizeFolder(model, model.resolve(".").resolve("../model"), QuantizedModelsTest.nf4(DType.F32)));
        assertTrue(same.getMessage().contains("must differ"), same.getMessage());
        TesseraException again = assertThrows(TesseraException.class,
                () -> QuantizedModels.loadIn4bit(out, QuantizedModelsTest.nf4(DType.F32), null, (d, n) -> { }));
        assertTrue(again.getMessage().contains("already quantized"), again.getMessage());
    }

    @Test
    void skipPatternsMatchAsASuffixOrARegexAtTheStartOrALiteralPrefix() {
        assertTrue(QuantizedModels.skipped("transformer.h.0.mlp.c_proj", List.of("mlp.c_proj")), "suffix");
        assertTrue(QuantizedModels.skipped("lm_head", List.of("lm_head")), "whole name");
        assertTrue(QuantizedModels.skipped("model.layers.1.mlp.up", List.of("model\\.layers\\.1\\.")), "regex at the start");
        assertFalse(QuantizedModels.skipped("x.model.layers.1.mlp.up", List.of("model\\.layers\\.1\\.")), "a regex only at the start");
        assertFalse(QuantizedModels.skipped("lm_head.extra", List.of("other", "head")), "neither suffix nor prefix");
        assertTrue(QuantizedModels.skipped("blocks[0.attn", List.of("blocks[0")), "not a regex: a literal prefix");
        assertFalse(QuantizedModels.skipped("other[0.attn", List.of("blocks[0")));
        assertFalse(QuantizedModels.skipped("lm_head", List.of()), "no patterns, nothing skipped");
        assertTrue(QuantizedModels.skipped("lm_head", List.of("nothing", "lm_head")), "any pattern of several");
    }
}
