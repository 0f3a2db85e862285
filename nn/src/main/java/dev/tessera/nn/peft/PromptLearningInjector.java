package dev.tessera.nn.peft;

import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;

/**
 * PEFT's prompt learning: a {@link PrefixEncoder} (prefix tuning: keys and values for every
 * layer) or a {@link PromptEmbedding} (prompt tuning: virtual input tokens) under
 * {@code prompt_encoder.<adapter>}. The model's layers stay as they are.
 */
final class PromptLearningInjector {
    private PromptLearningInjector() {}

    static PrefixTuningConfig inject(Injection in, String name, PrefixTuningConfig c) {
        ModelConfig mc = in.model().config();
        int hidden = c.encoderHiddenSize() == 0 ? mc.numKvHeads() * mc.headDim() : c.encoderHiddenSize();
        in.prompts().putModule(name, new PrefixEncoder(c.numVirtualTokens(), mc.numLayers(), mc.numKvHeads(), mc.headDim(),
                c.prefixProjection() && !c.inferenceMode(), hidden, in.model().dropoutRng()));
        return c;
    }

    static PromptTuningConfig inject(Injection in, String name, PromptTuningConfig c) {
        CausalLM model = in.model();
        PromptEmbedding e = new PromptEmbedding(c.numVirtualTokens(), model.config().hiddenSize(), model.dropoutRng());
        if (!c.inferenceMode() && c.promptTuningInit() == PromptTuningConfig.Init.TEXT) {
            e.initFrom(model.inputEmbeddings().weight(), c.initTokenIds());
        } else if (!c.inferenceMode() && c.promptTuningInit() == PromptTuningConfig.Init.SAMPLE_VOCAB) {
            e.initFromVocabulary(model.inputEmbeddings().weight(), model.dropoutRng());
        }
        in.prompts().putModule(name, e);
        return c;
    }

    /** Whether {@code c} is a prompt-learning config (prefix or prompt tuning). */
    static boolean isPromptLearning(PeftConfig c) {
        return c instanceof PrefixTuningConfig || c instanceof PromptTuningConfig;
    }
}
