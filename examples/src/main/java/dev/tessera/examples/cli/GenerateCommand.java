package dev.tessera.examples.cli;

import dev.tessera.core.Autograd;
import dev.tessera.core.Tensor;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.nn.KvCache;
import dev.tessera.nn.generate.GenerationConfig;
import dev.tessera.nn.generate.Generator;
import dev.tessera.training.data.ChatTemplate;
import dev.tessera.training.data.GenerationPrompt;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera generate}: continues a prompt; greedy at temperature 0. */
@Command(name = "generate", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Generate a continuation of a prompt (greedy at temperature 0); stops at the model's EOS.")
public final class GenerateCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    TorchDtypeOption torchDtype;

    @Mixin
    ModelAndAdapter model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt", paramLabel = "T")
        String text;

        @Option(names = "--prompt-ids", paramLabel = "'[...]'", description = "The prompt as a JSON array of token ids.")
        String ids;
    }

    @Option(names = "--max-new-tokens", required = true, paramLabel = "N")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "0 = greedy (default).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "Sample from the K most likely tokens (0 = all).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", paramLabel = "P", description = "Nucleus sampling mass (1 = all).")
    float topP;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N")
    long seed;

    @Option(names = "--print-ids", description = "Print the new token ids as a JSON array instead of text.")
    boolean printIds;

    @Option(names = "--template", defaultValue = "none", paramLabel = "none|alpaca|chat",
            description = "Wrap --prompt as training wrapped its rows: alpaca (### Instruction: ... ### Response:), "
                    + "chat (the model's chat template, else ChatML, with the generation prompt), none (default: as given).")
    String template;

    @Option(names = "--keep-special-tokens", description = "Show special tokens such as <|endoftext|> in the text (default: left out, as skip_special_tokens=True).")
    boolean keepSpecialTokens;

    /** Decodes through the PEFT model when there is one, so prefix and prompt adapters take part. */
    static Generator generator(LoadedModel lm) {
        return generator(lm.base, lm.peft);
    }

    /** The base model's generator, or the PEFT model's when {@code peft} is not null. */
    public static Generator generator(dev.tessera.nn.models.CausalLM base, dev.tessera.nn.peft.PeftModel peft) {
        if (peft == null) {
            return new Generator(base);
        }
        return new Generator(base, null, new Generator.Decoder() {
            @Override
            public KvCache newCache(int batch, int capacity) {
                return peft.newCache(batch, capacity);
            }

            @Override
            public Tensor nextTokenLogits(Tensor ids, KvCache cache) {
                Tensor logits = peft.logits(ids, cache);                 // [1, T, V]
                return logits.narrow(1, logits.size(1) - 1, 1);
            }
        });
    }

    @Override
    public Integer call() {
        if (maxNewTokens < 0) {
            throw new UsageException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        }
        if (temperature < 0 || topK < 0 || topP <= 0 || topP > 1) {
            throw new UsageException("need --temperature >= 0, --top-k >= 0 and 0 < --top-p <= 1");
        }
        if (!GenerationPrompt.TEMPLATES.contains(template)) {
            throw new UsageException("--template: expected none, alpaca or chat, got '" + template + "'");
        }
        if (prompt.ids != null && !template.equals("none")) {
            throw new UsageException("--template " + template + " wraps --prompt text; --prompt-ids are used as given");
        }
        LoadedModel lm = model.load(torchDtype, common);
        int[] ids = prompt.ids != null ? TokenizeCommand.parseIds("--prompt-ids", prompt.ids)
                : GenerationPrompt.encode(template, prompt.text, lm.tokenizer, chatTemplateOf(model.model));
        if (ids.length == 0) {
            throw new UsageException("the prompt is empty");
        }
        for (int id : ids) {
            if (id >= lm.base.config().vocabSize()) {
                throw new UsageException("--prompt-ids: id " + id + " is outside the model's vocabulary of " + lm.base.config().vocabSize());
            }
        }
        GenerationConfig config = temperature == 0 ? GenerationConfig.greedy(maxNewTokens)
                : GenerationConfig.sampling(maxNewTokens, temperature, topK, topP, seed);
        // stop tokens as Hugging Face's generate: the model config's eos_token_id, else the tokenizer's EOS
        if (lm.base.config().eosTokenIds().length > 0) {
            config = config.withEosTokenIds(lm.base.config().eosTokenIds());
        } else if (lm.tokenizer.eosId().isPresent()) {
            config = config.withEosTokenIds(lm.tokenizer.eosId().getAsInt());
        }
        lm.base.eval();
        int[] out;
        try (var ng = Autograd.noGrad()) {
            out = generator(lm).generate(ids, config);
        }
        System.out.println(printIds ? TokenizeCommand.jsonArray(out)
                : lm.tokenizer.decode(keepSpecialTokens ? out : withoutSpecialTokens(out, lm)));
        return 0;
    }

    /** The ids without BOS, EOS and padding (the model config's and the tokenizer's), as decode(skip_special_tokens=True). */
    static int[] withoutSpecialTokens(int[] ids, LoadedModel lm) {
        java.util.Set<Integer> special = new java.util.HashSet<>();
        lm.tokenizer.bosId().ifPresent(special::add);
        lm.tokenizer.eosId().ifPresent(special::add);
        lm.tokenizer.padId().ifPresent(special::add);
        for (int e : lm.base.config().eosTokenIds()) {
            special.add(e);
        }
        return java.util.Arrays.stream(ids).filter(id -> !special.contains(id)).toArray();
    }

    /** The model folder's own chat template, if it has one. */
    private static ChatTemplate chatTemplateOf(Path modelDir) {
        Path config = modelDir.resolve("tokenizer_config.json");
        try {
            if (java.nio.file.Files.isRegularFile(config) && (java.nio.file.Files.readString(config).contains("\"chat_template\"")
                    || java.nio.file.Files.isRegularFile(modelDir.resolve("chat_template.jinja")))) {
                return ChatTemplate.fromTokenizerConfig(config);
            }
        } catch (java.io.IOException e) {
            return null;
        }
        return null;
    }
}
