package dev.tessera.training.data;

import dev.tessera.nn.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A data file read, rendered and tokenized into {@link Example}s, ready for a
 * {@link DataLoader}. Rows stream from the file one at a time; only the token ids are kept.
 *
 * <pre>{@code
 * Tokenizer tokenizer = Tokenizers.load(Path.of("models/gpt2"));
 * SftDataset data = SftDataset.load(Path.of("alpaca.jsonl"), tokenizer,
 *         DataOptions.defaults().withMaxLength(512).withSkipBadRows(true));
 * data.format();          // ALPACA, detected from the first row's keys
 * data.skippedRows();     // rows left out as unusable
 * DataLoader loader = new DataLoader(data.examples(), 8, data.padId(), true, 42);
 * }</pre>
 *
 * <p>Examples are built as TRL's SFTTrainer builds them:
 * <ul>
 *   <li>Alpaca: {@code [BOS] ### Instruction:\n{instruction}\n\n[### Input:\n{input}\n\n]### Response:\n{output} EOS};
 *   <li>text: {@code [BOS] text EOS};
 *   <li>ShareGPT and messages: the chat template's output, nothing added (the template
 *       writes whatever BOS/EOS the model expects, as {@code apply_chat_template} does);
 *   <li>tokens: the ids as given.
 * </ul>
 * BOS is added when {@link DataOptions#addBos()} says so, by default when the tokenizer's
 * BOS differs from its EOS (Llama yes, GPT-2 no, as their Hugging Face tokenizers do); EOS
 * whenever the tokenizer has one, and it is trained on so the model learns to stop. With
 * completion-only masking (the default for Alpaca, ShareGPT and messages) only the
 * response and EOS, or each assistant turn as the template writes it (end-of-turn marker
 * included), are labelled. Text is cut at those boundaries before tokenizing, so no token
 * straddles one. Examples longer than {@code maxLength} are cut from the right.
 *
 * <p>Without packing there is one example per usable row, in file order (what {@code score}
 * reports on); with packing, rows of several examples each.
 */
public final class SftDataset {
    private static final int PROBLEMS_KEPT = 10;

    private final DataFormat format;
    private final List<Example> examples;
    private final int rows;
    private final int skippedRows;
    private final List<String> firstProblems;
    private final List<Long> skippedLines;
    private final int padId;
    private final int truncatedRows;
    private final int droppedUnlabelledRows;
    private final List<Long> droppedLines;

    private SftDataset(DataFormat format, List<Example> examples, int rows, int skippedRows, List<String> firstProblems,
                       List<Long> skippedLines, int padId, int truncatedRows, int droppedUnlabelledRows, List<Long> droppedLines) {
        this.format = format;
        this.examples = examples;
        this.rows = rows;
        this.skippedRows = skippedRows;
        this.firstProblems = firstProblems;
        this.skippedLines = skippedLines;
        this.padId = padId;
        this.truncatedRows = truncatedRows;
        this.droppedUnlabelledRows = droppedUnlabelledRows;
        this.droppedLines = droppedLines;
    }

    /**
     * Reads {@code file} (JSON Lines, a JSON array, or a {@code .txt} file).
     *
     * @throws DataException naming the file and line of the first unusable row (unless
     *     {@link DataOptions#skipBadRows()}), or when no usable row is left
     */
    public static SftDataset load(Path file, Tokenizer tokenizer, DataOptions options) {
        return load(file, tokenizer, options, false);
    }

    /**
     * Reads {@code file} for training: as {@link #load}, but a row with no labelled next-token
     * prediction (its response truncated away, a chat without an assistant turn) would train on
     * nothing, so it is dropped and counted ({@link #droppedUnlabelledRows()}), as the rows left
     * empty are before packing.
     *
     * @throws DataException also when no row has a labelled token
     */
    public static SftDataset loadForTraining(Path file, Tokenizer tokenizer, DataOptions options) {
        return load(file, tokenizer, options, true);
    }

    private static SftDataset load(Path file, Tokenizer tokenizer, DataOptions options, boolean dropUnlabelled) {
        String name = file.toString();
        DataFormat format = options.format();
        SftEncoder encoder = null;
        List<Example> examples = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        List<Long> skippedLines = new ArrayList<>(), droppedLines = new ArrayList<>();
        int skipped = 0, dropped = 0;
        try (RowReader reader = RowReader.open(file)) {
            if (reader.isPlainText()) {
                if (format != DataFormat.AUTO && format != DataFormat.TEXT) {
                    throw new DataException(name, 0, "a .txt file is plain text; expected --format text or auto, not "
                            + format.cliName());
                }
                format = DataFormat.TEXT;
            }
            for (RowReader.RawRow raw = reader.next(); raw != null; raw = reader.next()) {
                try {
                    if (raw.problem() != null) {
                        throw new RowProblem(raw.problem());
                    }
                    if (format == DataFormat.AUTO) {
                        format = RowParser.detect(raw.json());
                    }
                    if (encoder == null) {
                        encoder = encoder(format, tokenizer, options);
                    }
                    Row row = raw.text() != null
                            ? new Row.Text(raw.line(), raw.text())
                            : RowParser.parse(format, raw.line(), raw.json());
                    Example e = encoder.encode(row);
                    if (dropUnlabelled && e.targetCount() == 0) {
                        dropped++;
                        if (droppedLines.size() < PROBLEMS_KEPT) {
                            droppedLines.add(raw.line());
                        }
                    } else {
                        examples.add(e);
                    }
                } catch (RowProblem p) {
                    DataException error = new DataException(name, raw.line(), p.getMessage());
                    if (!options.skipBadRows()) {
                        throw error;
                    }
                    skipped++;
                    if (problems.size() < PROBLEMS_KEPT) {
                        problems.add(error.getMessage());
                        skippedLines.add(raw.line());
                    }
                }
            }
        }
        if (examples.isEmpty() && dropped > 0) {
            throw new DataException(name, 0, "nothing to train on: none of the " + dropped + " rows has a labelled token within "
                    + options.maxLength() + " tokens (a response or assistant turn that survives truncation); "
                    + "raise --max-length, or give rows a response / assistant turn");
        }
        if (examples.isEmpty()) {
            throw new DataException(name, 0, skipped == 0 ? "no data rows" : "no usable rows (" + skipped + " skipped)");
        }
        int rowCount = examples.size();
        List<Example> ready = options.packing() ? Packing.pack(examples, options.maxLength()) : examples;
        return new SftDataset(format, Collections.unmodifiableList(ready), rowCount, skipped,
                List.copyOf(problems), List.copyOf(skippedLines), padIdOf(tokenizer),
                encoder == null ? 0 : encoder.truncatedCount(), dropped, List.copyOf(droppedLines));
    }

    private static SftEncoder encoder(DataFormat format, Tokenizer tokenizer, DataOptions options) {
        ChatTemplate template = options.chatTemplate() != null
                ? options.chatTemplate()
                : ChatTemplate.named("chatml", tokenizer);
        boolean completionOnly = options.completionOnly() != null
                ? options.completionOnly() && format.completionOnlyByDefault()
                : format.completionOnlyByDefault();
        boolean addBos = options.addBos() != null ? options.addBos() : SftEncoder.addsBosByDefault(tokenizer);
        return new SftEncoder(tokenizer, template, completionOnly, addBos, options.maxLength());
    }

    /** The pad id for batches: the tokenizer's pad token, else EOS, else 0. */
    static int padIdOf(Tokenizer tokenizer) {
        return tokenizer.padId().orElse(tokenizer.eosId().orElse(0));
    }

    /** The file's format: as given in the options, or the one detected. */
    public DataFormat format() {
        return format;
    }

    /** The examples, in file order unless packed. */
    public List<Example> examples() {
        return examples;
    }

    /** Usable rows read. */
    public int rows() {
        return rows;
    }

    /** Rows skipped as unusable (only with {@link DataOptions#skipBadRows()}). */
    public int skippedRows() {
        return skippedRows;
    }

    /** The messages of the first few skipped rows, {@code file:line: problem} each. */
    public List<String> firstProblems() {
        return firstProblems;
    }

    /** The line numbers of the first few skipped rows. */
    public List<Long> skippedLines() {
        return skippedLines;
    }

    /** Rows longer than the maximum length, cut from the right. */
    public int truncatedRows() {
        return truncatedRows;
    }

    /** Rows dropped by {@link #loadForTraining} for having no labelled token. */
    public int droppedUnlabelledRows() {
        return droppedUnlabelledRows;
    }

    /** The line numbers of the first few rows dropped for having no labelled token. */
    public List<Long> droppedUnlabelledLines() {
        return droppedLines;
    }

    /** The id that pads batches: the tokenizer's pad token, else its EOS (as HF users usually set), else 0. */
    public int padId() {
        return padId;
    }
}
