import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A randomly initialised GPT-2 folder for timing runs, with the tokenizer of a given folder:
 *   java -cp 'examples/target/lib/*' tools/bench/MakeGpt2.java OUT N_EMBD N_LAYER TOKENIZER_DIR
 */
public class MakeGpt2 {
    public static void main(String[] a) throws Exception {
        Path out = Path.of(a[0]), tokenizer = Path.of(a[3]);
        int embd = Integer.parseInt(a[1]), layers = Integer.parseInt(a[2]);
        String config = """
                {"model_type": "gpt2", "vocab_size": 350, "n_positions": 256, "n_embd": %d, "n_layer": %d, "n_head": %d,
                 "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
                 "attn_pdrop": 0.0, "bos_token_id": 0, "eos_token_id": 0}""".formatted(embd, layers, Math.max(1, embd / 64));
        CausalLM.create(ModelConfig.parse(config, "MakeGpt2"), 1).save(out);
        for (String f : new String[] {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json"}) {
            if (Files.exists(tokenizer.resolve(f))) {
                Files.copy(tokenizer.resolve(f), out.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
