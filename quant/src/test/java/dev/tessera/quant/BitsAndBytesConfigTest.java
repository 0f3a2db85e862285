package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.core.DType;
import dev.tessera.core.TesseraException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BitsAndBytesConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text.replace('\'', '"'));
    }

    private static String error(String config) throws Exception {
        JsonNode node = json(config);
        return assertThrows(TesseraException.class, () -> BitsAndBytesConfig.fromJson(node, "m/config.json")).getMessage();
    }

    @Test
    void presetsAreTransformersDefaultsAndTheQloraPapers() {
        assertEquals(new BitsAndBytesConfig(QuantType.FP4, 64, false, DType.F32, null), BitsAndBytesConfig.defaults());
        assertEquals(new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.BF16, null), BitsAndBytesConfig.qlora());
    }

    @Test
    void computeDtypeNamesAreTorchs() {
        assertEquals("float32", BitsAndBytesConfig.defaults().computeDtypeName());
        assertEquals("bfloat16", BitsAndBytesConfig.qlora().computeDtypeName());
        assertEquals("float16", new BitsAndBytesConfig(QuantType.NF4, 64, false, DType.F16, null).computeDtypeName());
    }

    @Test
    void theConstructorRefusesWhatBitsandbytesCannotStore() {
        var e = assertThrows(IllegalArgumentException.class, () -> new BitsAndBytesConfig(QuantType.NF4, 64, false, DType.I64, null));
        assertEquals("compute dtype must be F32, BF16 or F16, got I64", e.getMessage());
        assertThrows(NullPointerException.class, () -> new BitsAndBytesConfig(null, 64, false, DType.F32, null));
        assertThrows(IllegalArgumentException.class, () -> new BitsAndBytesConfig(QuantType.NF4, 48, false, DType.F32, null));
        List<String> skip = new ArrayList<>(List.of("lm_head"));
        BitsAndBytesConfig c = new BitsAndBytesConfig(QuantType.NF4, 64, false, DType.F32, skip);
        skip.add("other");
        assertEquals(List.of("lm_head"), c.skipModules(), "the list is copied");
    }

    @Test
    void toJsonWritesTransformersKeysAndFromJsonReadsThemBack() throws Exception {
        BitsAndBytesConfig c = new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.F16, List.of("lm_head", "score"));
        JsonNode j = c.toJson();
        assertEquals(json("{'quant_method':'bitsandbytes','_load_in_8bit':false,'_load_in_4bit':true,"
                + "'llm_int8_threshold':6.0,'llm_int8_skip_modules':['lm_head','score'],"
                + "'llm_int8_enable_fp32_cpu_offload':false,'llm_int8_has_fp16_weight':false,"
                + "'bnb_4bit_quant_type':'nf4','bnb_4bit_use_double_quant':true,'bnb_4bit_compute_dtype':'float16',"
                + "'bnb_4bit_quant_storage':'uint8','load_in_4bit':true,'load_in_8bit':false}"), j);
        assertEquals(c, BitsAndBytesConfig.fromJson(j, "x"));
        JsonNode defaults = BitsAndBytesConfig.defaults().toJson();
        assertEquals(true, defaults.get("llm_int8_skip_modules").isNull());
        assertEquals(BitsAndBytesConfig.defaults(), BitsAndBytesConfig.fromJson(defaults, "x"));
    }

    @Test
    void absentKeysTakeTransformersDefaults() throws Exception {
        BitsAndBytesConfig c = BitsAndBytesConfig.fromJson(json("{'load_in_4bit':true}"), "x");
        assertEquals(BitsAndBytesConfig.defaults(), c);
        BitsAndBytesConfig nulls = BitsAndBytesConfig.fromJson(json("{'_load_in_4bit':true,'quant_method':null,"
                + "'bnb_4bit_quant_type':null,'llm_int8_skip_modules':null,'load_in_8bit':null}"), "x");
        assertEquals(BitsAndBytesConfig.defaults(), nulls);
        assertNull(nulls.skipModules());
    }

    @Test
    void computeDtypesAreReadWithOrWithoutTheTorchPrefixAndByTheirAliases() throws Exception {
        String[][] cases = {{"float32", "F32"}, {"float", "F32"}, {"torch.float32", "F32"}, {"bfloat16", "BF16"},
            {"torch.bfloat16", "BF16"}, {"float16", "F16"}, {"half", "F16"}, {"torch.float16", "F16"}};
        for (String[] c : cases) {
            BitsAndBytesConfig config = BitsAndBytesConfig.fromJson(
                    json("{'load_in_4bit':true,'bnb_4bit_quant_type':'nf4','bnb_4bit_compute_dtype':'" + c[0] + "'}"), "x");
            assertEquals(DType.valueOf(c[1]), config.computeDtype(), c[0]);
            assertEquals(QuantType.NF4, config.quantType());
        }
    }

    @Test
    void unsupportedConfigsAreRefusedInOneLineNamingTheFileAndKey() throws Exception {
        assertEquals("m/config.json: quantization_config must be a JSON object", error("[1]"));
        assertEquals("m/config.json: quantization_config must be a JSON object",
                assertThrows(TesseraException.class, () -> BitsAndBytesConfig.fromJson(null, "m/config.json")).getMessage());
        assertEquals("m/config.json: quantization_config.quant_method is 'gptq'; only bitsandbytes 4-bit checkpoints are supported",
                error("{'quant_method':'gptq','load_in_4bit':true}"));
        assertEquals("m/config.json: quantization_config has load_in_8bit: 8-bit (LLM.int8) checkpoints are not supported,"
                + " only load_in_4bit", error("{'load_in_8bit':true,'load_in_4bit':true}"));
        assertEquals("m/config.json: quantization_config has load_in_8bit: 8-bit (LLM.int8) checkpoints are not supported,"
                + " only load_in_4bit", error("{'_load_in_8bit':true,'load_in_4bit':true}"));
        assertEquals("m/config.json: quantization_config.load_in_4bit must be true", error("{'load_in_4bit':false}"));
        assertEquals("m/config.json: quantization_config.load_in_4bit must be true", error("{}"));
        assertEquals("m/config.json: quantization_config.bnb_4bit_quant_type must be nf4 or fp4, got 'int4'",
                error("{'load_in_4bit':true,'bnb_4bit_quant_type':'int4'}"));
        assertEquals("m/config.json: quantization_config.bnb_4bit_quant_storage 'float32' is not supported (expected uint8)",
                error("{'load_in_4bit':true,'bnb_4bit_quant_storage':'float32'}"));
        assertEquals("m/config.json: quantization_config.bnb_4bit_compute_dtype must be float32, bfloat16 or float16, got 'int8'",
                error("{'load_in_4bit':true,'bnb_4bit_compute_dtype':'int8'}"));
        assertEquals("m/config.json: quantization_config.llm_int8_skip_modules must be a list of module names or null",
                error("{'load_in_4bit':true,'llm_int8_skip_modules':'lm_head'}"));
        assertEquals("m/config.json: quantization_config.llm_int8_skip_modules must hold strings, got 3",
                error("{'load_in_4bit':true,'llm_int8_skip_modules':['a',3]}"));
        assertEquals("m/config.json: quantization_config.bnb_4bit_quant_type must be a string, got 4",
                error("{'load_in_4bit':true,'bnb_4bit_quant_type':4}"));
        assertEquals("m/config.json: quantization_config.load_in_4bit must be true or false, got \"yes\"",
                error("{'load_in_4bit':'yes'}"));
    }

    @Test
    void doubleQuantizationIsReadFromItsKey() throws Exception {
        assertEquals(true, BitsAndBytesConfig.fromJson(json("{'load_in_4bit':true,'bnb_4bit_use_double_quant':true}"), "x").doubleQuant());
        assertEquals(false, BitsAndBytesConfig.fromJson(json("{'load_in_4bit':true,'bnb_4bit_use_double_quant':false}"), "x").doubleQuant());
    }
}
