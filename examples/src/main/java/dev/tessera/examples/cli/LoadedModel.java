package dev.tessera.examples.cli;

import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.nn.tokenizer.Tokenizer;
import dev.tessera.nn.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the model-reading commands share: the model folder (plain or 4-bit), an optional PEFT
 * adapter on top, and the tokenizer found in the model folder (or the adapter's).
 */
final class LoadedModel {
    final CausalLM base;
    final PeftModel peft; // null without --adapter
    final Tokenizer tokenizer;

    private LoadedModel(CausalLM base, PeftModel peft, Tokenizer tokenizer) {
        this.base = base;
        this.peft = peft;
        this.tokenizer = tokenizer;
    }

    /** For merging: every weight F32, loaded onto {@code device}. */
    static LoadedModel load(Path modelDir, Path adapterDir, Device device) {
        return load(modelDir, adapterDir, false, null, device);
    }

    /**
     * For generation and scoring: the base frozen, its matrices at {@code dtype} (null: as stored),
     * loaded onto {@code device}.
     */
    static LoadedModel loadFrozen(Path modelDir, Path adapterDir, DType dtype, Device device) {
        return load(modelDir, adapterDir, true, dtype, device);
    }

    private static LoadedModel load(Path modelDir, Path adapterDir, boolean frozen, DType dtype, Device device) {
        if (!Files.isDirectory(modelDir)) {
            throw new TesseraException(modelDir + ": not a model folder");
        }
        CausalLM base = frozen ? ModelFolders.loadFrozen(modelDir, dtype, device) : ModelFolders.load(modelDir, device);
        PeftModel peft = null;
        if (adapterDir != null) {
            if (!Files.isDirectory(adapterDir)) {
                throw new TesseraException(adapterDir + ": not an adapter folder");
            }
            peft = PeftModel.load(base, adapterDir);
        }
        if (peft != null) {
            peft.to(device);
        } else {
            base.to(device);
        }
        return new LoadedModel(base, peft, tokenizerFor(modelDir, adapterDir, base.config().vocabSize()));
    }

    /** The tokenizer of the model folder (or the adapter's), else one that only accepts token ids. */
    static Tokenizer tokenizerFor(Path modelDir, Path adapterDir, int vocabSize) {
        return hasTokenizer(modelDir) ? Tokenizers.load(modelDir)
                : adapterDir != null && hasTokenizer(adapterDir) ? Tokenizers.load(adapterDir)
                : new VocabularyOnly(vocabSize, modelDir);
    }

    static boolean hasTokenizer(Path dir) {
        return Files.exists(dir.resolve("tokenizer.json")) || Files.exists(dir.resolve("vocab.json"));
    }

    /** Mean loss over labelled next-token predictions of ids [B, T]. */
    Tensor loss(Tensor ids, Tensor labels) {
        return peft != null ? peft.loss(ids, labels) : base.loss(ids, labels);
    }

    /**
     * The tokenizer of a model folder that ships none: only pre-tokenized data works; anything
     * that needs text says so.
     */
    static final class VocabularyOnly implements Tokenizer {
        private final int vocab;
        private final Path dir;

        VocabularyOnly(int vocab, Path dir) {
            this.vocab = vocab;
            this.dir = dir;
        }

        private TesseraException missing() {
            return new TesseraException(dir + ": no tokenizer files (tokenizer.json or vocab.json + merges.txt); use token ids (--format tokens / --prompt-ids)");
        }

        @Override
        public int[] encode(String text) {
            throw missing();
        }

        @Override
        public String decode(int[] ids) {
            throw missing();
        }

        @Override
        public int vocabSize() {
            return vocab;
        }
    }
}
