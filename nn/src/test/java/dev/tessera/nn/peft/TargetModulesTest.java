package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** PEFT's target_modules rules: list (exact or "." suffix), regex (full match), "all-linear", defaults per architecture. */
class TargetModulesTest {
    private static TreeSet<String> wrapped(String base, LoraConfig config) {
        PeftModel peft = PeftModel.of(PeftFixtures.base(base), config);
        TreeSet<String> out = new TreeSet<>();
        peft.baseModel().namedModules().forEach((k, v) -> {
            if (v instanceof LoraLinear) {
                out.add(k);
            }
        });
        peft.release();
        return out;
    }

    @Test
    void defaultsAreC_attnForGpt2AndQvForLlama() {
        assertEquals(new TreeSet<>(List.of("transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn")),
                wrapped("gpt2-tiny", LoraConfig.defaults()));
        assertEquals(new TreeSet<>(List.of("model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj")), wrapped("llama-tiny", LoraConfig.defaults()));
    }

    @Test
    void aListEntryMatchesWholeDottedSuffixesOnly() {
        assertEquals(new TreeSet<>(List.of("transformer.h.0.attn.c_proj", "transformer.h.1.attn.c_proj")),
                wrapped("gpt2-tiny", LoraConfig.defaults().withTargetModules("attn.c_proj")));
        assertEquals(new TreeSet<>(List.of("transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_proj",
                "transformer.h.1.attn.c_proj", "transformer.h.1.mlp.c_proj")), wrapped("gpt2-tiny", LoraConfig.defaults().withTargetModules("c_proj")));
        assertEquals(new TreeSet<>(List.of("transformer.h.1.mlp.c_fc")),
                wrapped("gpt2-tiny", LoraConfig.defaults().withTargetModules("transformer.h.1.mlp.c_fc")), "an exact name");
    }

    @Test
    void aSingleStringIsAFullMatchRegex() {
        assertEquals(new TreeSet<>(List.of("model.layers.1.self_attn.k_proj", "model.layers.1.self_attn.o_proj")),
                wrapped("llama-tiny", LoraConfig.defaults().withTargetModules(TargetModules.regex(".*layers\\.1\\.self_attn\\.(k|o)_proj"))));
        assertThrows(TesseraException.class,
                () -> wrapped("llama-tiny", LoraConfig.defaults().withTargetModules(TargetModules.regex("k_proj"))), "not a search");
    }

    @Test
    void allLinearLeavesTheOutputHeadOut() {
        TreeSet<String> all = wrapped("llama-tiny", LoraConfig.defaults().withTargetModules(TargetModules.allLinear()));
        assertEquals(14, all.size());
        assertTrue(all.stream().noneMatch(n -> n.equals("lm_head")));
        assertEquals(8, wrapped("gpt2-tiny", LoraConfig.defaults().withTargetModules(TargetModules.allLinear())).size());
    }

    @Test
    void allLinearIsSavedAsTheMatchedNames() {
        PeftModel peft = PeftModel.of(PeftFixtures.base("gpt2-tiny"), LoraConfig.defaults().withTargetModules(TargetModules.allLinear()));
        TargetModules saved = ((LoraConfig) peft.config("default")).targetModules();
        assertEquals(8, ((TargetModules.Names) saved).names().size());
        peft.release();
    }

    @Test
    void excludeModulesAndModulesToSaveAreNeverTargets() {
        assertEquals(new TreeSet<>(List.of("transformer.h.1.attn.c_attn")),
                wrapped("gpt2-tiny", LoraConfig.defaults().withExcludeModules(TargetModules.of("transformer.h.0.attn.c_attn"))));
    }

    @Test
    void aTargetThatMatchesNothingListsTheModelsLinearLayers() {
        CausalLM model = PeftFixtures.base("gpt2-tiny");
        TesseraException e = assertThrows(TesseraException.class,
                () -> PeftModel.of(model, LoraConfig.defaults().withTargetModules("q_proj", "v_proj")));
        assertTrue(e.getMessage().contains("[q_proj, v_proj] matched no module"), e.getMessage());
        assertTrue(e.getMessage().contains("transformer.h.{i}.attn.c_attn, transformer.h.{i}.attn.c_proj, transformer.h.{i}.mlp.c_fc, "
                + "transformer.h.{i}.mlp.c_proj, lm_head"), e.getMessage());
        model.release();
    }

    @Test
    void aNonLinearTargetIsRefusedByName() {
        CausalLM model = PeftFixtures.base("gpt2-tiny");
        TesseraException e = assertThrows(TesseraException.class, () -> PeftModel.of(model, LoraConfig.defaults().withTargetModules("ln_1")));
        assertTrue(e.getMessage().contains("transformer.h.0.ln_1' is a LayerNorm"), e.getMessage());
        model.release();
    }
}
