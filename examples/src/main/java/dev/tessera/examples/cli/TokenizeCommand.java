package dev.tessera.examples.cli;

import dev.tessera.core.TesseraException;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.tokenizer.Tokenizer;
import dev.tessera.nn.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera tokenize}: text to a JSON array of token ids. */
@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Encode text with a model's tokenizer; prints a JSON array of ids.")
public final class TokenizeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR", description = "Folder with tokenizer.json or vocab.json + merges.txt.")
    Path tokenizerDir;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "T", description = "The text to encode.")
        String text;

        @Option(names = "--file", paramLabel = "F", description = "A UTF-8 file whose whole content is encoded.")
        Path file;
    }

    @Override
    public Integer call() {
        common.apply();
        Tokenizer tok = Tokenizers.load(tokenizerDir);
        String text = input.text != null ? input.text : readUtf8(input.file);
        System.out.println(jsonArray(tok.encode(text)));
        return 0;
    }

    static String readUtf8(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new TesseraException(file + ": not valid UTF-8 text");
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot read: " + e.getMessage());
        }
    }

    static String jsonArray(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]"));
    }

    /** Parses a JSON array of non-negative ints (the --ids flags). */
    static int[] parseIds(String flag, String json) {
        try {
            var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
            if (node == null || !node.isArray()) {
                throw new UsageException(flag + ": expected a JSON array of token ids, got '" + json + "'");
            }
            int[] ids = new int[node.size()];
            for (int i = 0; i < ids.length; i++) {
                var v = node.get(i);
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
                    throw new UsageException(flag + ": element " + i + " is not a non-negative integer id: " + v);
                }
                ids[i] = v.intValue();
            }
            return ids;
        } catch (IOException e) {
            throw new UsageException(flag + ": not valid JSON: " + json);
        }
    }
}
