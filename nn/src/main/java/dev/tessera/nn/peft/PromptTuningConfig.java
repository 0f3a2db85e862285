package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;

/**
 * PEFT's {@code PromptTuningConfig}: {@code numVirtualTokens} trained embeddings put in front of
 * every input (their labels are -100, so they are never predicted). They start random
 * (N(0, 1), like {@code nn.Embedding}), as copies of the embeddings of an init text's token ids
 * (repeated or cut to N), or as embeddings of random vocabulary ids.
 *
 * <pre>{@code
 * int[] ids = tokenizer.encode("Classify the sentiment of this review:");
 * PromptTuningConfig config = PromptTuningConfig.of(8).withTextInit("Classify the sentiment of this review:", ids);
 * PeftModel peft = PeftModel.of(model, config);
 * Tensor logits = peft.logits(batch);   // [B, 8 + T, V]
 * }</pre>
 *
 * @param numVirtualTokens     N
 * @param promptTuningInit     how the embeddings start
 * @param promptTuningInitText the text behind {@code initTokenIds} (recorded in adapter_config.json)
 * @param initTokenIds         token ids of the init text (TEXT init)
 * @param tokenizerNameOrPath  recorded in adapter_config.json
 * @param baseModelNameOrPath  written into adapter_config.json
 * @param inferenceMode        adapter frozen
 */
public record PromptTuningConfig(
        int numVirtualTokens,
        Init promptTuningInit,
        String promptTuningInitText,
        int[] initTokenIds,
        String tokenizerNameOrPath,
        String baseModelNameOrPath,
        boolean inferenceMode) implements PeftConfig {

    /** PEFT's {@code prompt_tuning_init}. */
    public enum Init {
        RANDOM,
        TEXT,
        SAMPLE_VOCAB
    }

    public PromptTuningConfig {
        if (numVirtualTokens <= 0) {
            throw new TesseraException("PromptTuningConfig: num_virtual_tokens must be positive, got " + numVirtualTokens);
        }
        if (promptTuningInit == Init.TEXT && !inferenceMode && (initTokenIds == null || initTokenIds.length == 0)) {
            throw new TesseraException("PromptTuningConfig: TEXT init needs the init text's token ids");
        }
        initTokenIds = initTokenIds == null ? null : initTokenIds.clone();
    }

    /** N random virtual tokens. */
    public static PromptTuningConfig of(int numVirtualTokens) {
        return new PromptTuningConfig(numVirtualTokens, Init.RANDOM, null, null, null, null, false);
    }

    @Override
    public String peftType() {
        return "PROMPT_TUNING";
    }

    /** Starts from the embeddings of {@code ids} (the tokens of {@code text}). */
    public PromptTuningConfig withTextInit(String text, int[] ids) {
        return new PromptTuningConfig(numVirtualTokens, Init.TEXT, text, ids, tokenizerNameOrPath, baseModelNameOrPath, inferenceMode);
    }

    /** Starts from the embeddings of random vocabulary ids. */
    public PromptTuningConfig withSampleVocabInit() {
        return new PromptTuningConfig(numVirtualTokens, Init.SAMPLE_VOCAB, null, null, tokenizerNameOrPath, baseModelNameOrPath, inferenceMode);
    }

    public PromptTuningConfig withTokenizerNameOrPath(String v) {
        return new PromptTuningConfig(numVirtualTokens, promptTuningInit, promptTuningInitText, initTokenIds, v, baseModelNameOrPath, inferenceMode);
    }

    public PromptTuningConfig withBaseModelNameOrPath(String v) {
        return new PromptTuningConfig(numVirtualTokens, promptTuningInit, promptTuningInitText, initTokenIds, tokenizerNameOrPath, v, inferenceMode);
    }

    public PromptTuningConfig withInferenceMode(boolean v) {
        return new PromptTuningConfig(numVirtualTokens, promptTuningInit, promptTuningInitText, initTokenIds, tokenizerNameOrPath, baseModelNameOrPath, v);
    }

    @Override
    public int[] initTokenIds() {
        return initTokenIds == null ? null : initTokenIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PromptTuningConfig p && p.numVirtualTokens == numVirtualTokens && p.promptTuningInit == promptTuningInit
                && java.util.Objects.equals(p.promptTuningInitText, promptTuningInitText) && java.util.Arrays.equals(p.initTokenIds, initTokenIds)
                && java.util.Objects.equals(p.tokenizerNameOrPath, tokenizerNameOrPath)
                && java.util.Objects.equals(p.baseModelNameOrPath, baseModelNameOrPath) && p.inferenceMode == inferenceMode;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(numVirtualTokens, promptTuningInit, promptTuningInitText, java.util.Arrays.hashCode(initTokenIds),
                tokenizerNameOrPath, baseModelNameOrPath, inferenceMode);
    }
}
