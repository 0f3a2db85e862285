package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.Activation;
import dev.tessera.nn.RotaryEmbedding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ModelConfigTest {
    private static final String LLAMA = """
            {"model_type": "llama", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2 %s}""";

    @Test
    void readsTheGpt2Fixture() {
        ModelConfig c = ModelConfig.read(Fixtures.dir("gpt2-tiny"));
        assertEquals(ModelConfig.Family.GPT2, c.family());
        assertEquals(96, c.vocabSize());
        assertEquals(32, c.hiddenSize());
        assertEquals(8, c.headDim());
        assertEquals(128, c.intermediateSize()); // n_inner null = 4 * n_embd
        assertEquals(Activation.GELU_TANH, c.activation());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(0f, c.attnDropout());
        assertArrayEquals(new int[] {0}, c.eosTokenIds());
    }

    @Test
    void readsTheLlamaAndQwen2Fixtures() {
        ModelConfig llama = ModelConfig.read(Fixtures.dir("llama-tiny"));
        assertEquals(2, llama.numKvHeads());
        assertEquals(10000.0, llama.ropeTheta());
        assertFalse(llama.tieWordEmbeddings());
        assertFalse(llama.qkvBias());
        ModelConfig qwen = ModelConfig.read(Fixtures.dir("qwen2-tiny"));
        assertTrue(qwen.qkvBias());
        assertFalse(qwen.outputBias());
        assertTrue(qwen.tieWordEmbeddings());
        assertEquals(0, qwen.slidingWindow(1)); // use_sliding_window false
    }

    @Test
    void ropeThetaIsReadAtTheTopLevelOrInRopeParameters() {
        ModelConfig old = ModelConfig.parse(LLAMA.formatted(", \"rope_theta\": 500000.0, \"rope_scaling\": null"), "config.json");
        ModelConfig v5 = ModelConfig.parse(LLAMA.formatted(", \"rope_parameters\": {\"rope_theta\": 500000.0, \"rope_type\": \"default\"}"), "config.json");
        assertEquals(500000.0, old.ropeTheta());
        assertEquals(500000.0, v5.ropeTheta());
        assertArrayEquals(old.ropeInverseFrequencies(), v5.ropeInverseFrequencies());
        assertArrayEquals(RotaryEmbedding.defaultInverseFrequencies(8, 500000.0), v5.ropeInverseFrequencies());
    }

    @Test
    void llama3RopeScalingKeepsHighFrequenciesAndDividesLowOnes() {
        String scaling = ", \"hidden_size\": 512, \"num_attention_heads\": 4, \"rope_parameters\": {\"rope_theta\": 500000.0, \"rope_type\": \"llama3\","
                + " \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}";
        String json = LLAMA.replace("\"hidden_size\": 32, ", "").replace("\"num_attention_heads\": 4, ", "").formatted(scaling);
        float[] scaled = ModelConfig.parse(json, "config.json").ropeInverseFrequencies();
        float[] plain = RotaryEmbedding.defaultInverseFrequencies(128, 500000.0);
        assertEquals(plain[0], scaled[0]);                       // wavelength 2π < 2048: unchanged
        assertEquals(plain[63] / 8, scaled[63], 1e-12);          // wavelength > 8192: divided by the factor
        for (int i = 1; i < 64; i++) {
            assertTrue(scaled[i] <= plain[i] && scaled[i] >= plain[i] / 8 * 0.999f);
        }
    }

    @Test
    void linearRopeScalingDividesEveryFrequency() {
        float[] scaled = ModelConfig.parse(LLAMA.formatted(", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0}"), "c").ropeInverseFrequencies();
        float[] plain = RotaryEmbedding.defaultInverseFrequencies(8, 10000.0);
        for (int i = 0; i < plain.length; i++) {
            assertEquals(plain[i] / 4, scaled[i]);
        }
    }

    @Test
    void mistralSlidingWindowAppliesToEveryLayer() {
        ModelConfig c = ModelConfig.parse(LLAMA.replace("llama", "mistral").formatted(", \"sliding_window\": 16"), "c");
        assertEquals(16, c.slidingWindow(0));
        assertEquals(16, c.slidingWindow(1));
    }

    @Test
    void llama3ListsOfEosIdsAreRead() {
        ModelConfig c = ModelConfig.parse(LLAMA.formatted(", \"eos_token_id\": [2, 7]"), "c");
        assertArrayEquals(new int[] {2, 7}, c.eosTokenIds());
    }

    @Test
    void toJsonKeepsUnknownKeysAndParsesBack() {
        ModelConfig c = ModelConfig.parse(LLAMA.formatted(", \"my_key\": [1, 2], \"torch_dtype\": \"bfloat16\""), "c");
        String json = c.toJson();
        assertTrue(json.contains("\"my_key\""));
        assertTrue(json.contains("\"torch_dtype\": \"float32\""), json);
        ModelConfig back = ModelConfig.parse(json, "c");
        assertEquals(c.toString(), back.toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"vocab_size\": 5}                                                              | model_type is missing",
        "{\"model_type\": \"t5\"}                                                         | model_type 't5' is not supported",
        "{\"model_type\": \"gpt2\", \"n_embd\": 30, \"n_head\": 4}                        | n_head (4) must divide n_embd (30)",
        "{\"model_type\": \"gpt2\", \"n_embd\": -32}                                      | n_embd must be a positive integer",
        "{\"model_type\": \"gpt2\", \"n_layer\": \"two\"}                                 | n_layer must be an integer",
        "{\"model_type\": \"gpt2\", \"n_layer\": 2.5}                                     | n_layer must be an integer",
        "{\"model_type\": \"gpt2\", \"vocab_size\": 0}                                    | vocab_size must be a positive integer",
        "{\"model_type\": \"gpt2\", \"activation_function\": \"gelu\"}                    | activation_function 'gelu' is not supported",
        "{\"model_type\": \"gpt2\", \"attn_pdrop\": 1.5}                                  | attn_pdrop must be a probability",
        "{\"model_type\": \"gpt2\", \"layer_norm_epsilon\": 0}                            | layer_norm_epsilon must be a positive number",
        "{\"model_type\": \"gpt2\", \"n_positions\": 99999999999}                         | n_positions must be a positive integer",
        "{\"model_type\": \"llama\", \"num_attention_heads\": 4, \"num_key_value_heads\": 3, \"hidden_size\": 32} | num_key_value_heads (3) must divide num_attention_heads (4)",
        "{\"model_type\": \"llama\", \"num_attention_heads\": 5, \"hidden_size\": 32}     | num_attention_heads (5) must divide hidden_size (32)",
        "{\"model_type\": \"llama\", \"head_dim\": 7}                                     | head_dim gives an odd head dimension 7",
        "{\"model_type\": \"llama\", \"rope_parameters\": {\"rope_type\": \"yarn\"}}      | rope_parameters.rope_type 'yarn' is not supported",
        "{\"model_type\": \"llama\", \"rope_theta\": -1}                                  | rope_theta must be a positive number",
        "{\"model_type\": \"llama\", \"tie_word_embeddings\": \"yes\"}                    | tie_word_embeddings must be true or false",
        "{\"model_type\": \"llama\", \"eos_token_id\": -3}                                | eos_token_id must be a non-negative token id",
    })
    void invalidConfigsFailWithOneLineNamingTheFileAndKey(String json, String expected) {
        TesseraException e = assertThrows(TesseraException.class, () -> ModelConfig.parse(json, "models/x/config.json"));
        assertTrue(e.getMessage().startsWith("models/x/config.json: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void malformedJsonIsReportedWithTheFileName() {
        TesseraException e = assertThrows(TesseraException.class, () -> ModelConfig.parse("{\"model_type\": ", "config.json"));
        assertTrue(e.getMessage().startsWith("config.json: not valid JSON"), e.getMessage());
        e = assertThrows(TesseraException.class, () -> ModelConfig.parse("[1, 2]", "config.json"));
        assertEquals("config.json: expected a JSON object", e.getMessage());
        e = assertThrows(TesseraException.class, () -> ModelConfig.parse("{\"a\": 1, \"a\": 2}", "config.json"));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }
}
