package dev.tessera.examples.cli;

import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.tokenizer.Tokenizer;
import dev.tessera.nn.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera detokenize}: a JSON array of ids back to text. */
@Command(name = "detokenize", mixinStandardHelpOptions = true, description = "Decode a JSON array of token ids to text.")
public final class DetokenizeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR")
    Path tokenizerDir;

    @Option(names = "--ids", required = true, paramLabel = "'[...]'", description = "JSON array of token ids.")
    String ids;

    @Override
    public Integer call() {
        common.apply();
        Tokenizer tok = Tokenizers.load(tokenizerDir);
        int[] parsed = TokenizeCommand.parseIds("--ids", ids);
        for (int id : parsed) {
            if (id >= tok.vocabSize()) {
                throw new UsageException("--ids: id " + id + " is outside the vocabulary of " + tok.vocabSize() + " tokens");
            }
        }
        System.out.println(tok.decode(parsed));
        return 0;
    }
}
