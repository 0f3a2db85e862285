package dev.tessera.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one {@link MetricsLine} per line, flushed as written, so a killed run
 * keeps every line it logged. A resumed run first drops the lines past its checkpoint's step
 * (the steps it is about to repeat), so the file holds each step once.
 */
final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final BufferedWriter out;

    private MetricsLog(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** A log that writes nothing (every rank but rank 0). */
    static MetricsLog disabled() {
        return new MetricsLog(null, new BufferedWriter(Writer.nullWriter()));
    }

    /**
     * Opens {@code file} for appending: a fresh run ({@code resumedStep} null) starts it empty; a
     * resumed run keeps the lines up to and including {@code resumedStep}.
     */
    static MetricsLog open(Path file, Long resumedStep) {
        try {
            if (resumedStep == null) {
                Files.deleteIfExists(file);
            } else if (Files.exists(file)) {
                keepUpTo(file, resumedStep);
            }
            return new MetricsLog(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot open the metrics log: " + e.getMessage(), e);
        }
    }

    /**
     * Rewrites {@code file} (atomically) without the lines past {@code step}; a line that does not
     * parse (the half-written last line of a killed run) goes too.
     */
    static void keepUpTo(Path file, long step) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> kept = new ArrayList<>(lines.size());
        for (String line : lines) {
            if (stepOf(line) <= step) {
                kept.add(line);
            }
        }
        if (kept.size() < lines.size()) {
            AtomicFiles.writeString(file, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
        }
    }

    /** The line's step; Long.MAX_VALUE for a line that is not a metrics record. */
    private static long stepOf(String line) {
        try {
            var step = JSON.readTree(line).get("step");
            return step != null && step.isIntegralNumber() ? step.asLong() : Long.MAX_VALUE;
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    void write(MetricsLine line) {
        try {
            out.write(JSON.writeValueAsString(line.toJson()));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new TesseraException(file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new TesseraException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * loss.png: the training loss of every step as a line, the logged steps marked on it, and the
     * eval loss when there is one; titled with the run's name.
     */
    static LineChart lossChart(String runName, List<Double> stepLosses, List<MetricsLine> history, boolean logScale) {
        List<double[]> logged = new ArrayList<>(), evalPoints = new ArrayList<>();
        for (MetricsLine line : history) {
            switch (line) {
                case MetricsLine.Step s when Double.isFinite(s.loss()) -> logged.add(new double[] {s.step(), s.loss()});
                case MetricsLine.Eval e when Double.isFinite(e.evalLoss()) -> evalPoints.add(new double[] {e.step(), e.evalLoss()});
                default -> { }
            }
        }
        double[] steps = new double[stepLosses.size()], losses = new double[stepLosses.size()];
        for (int i = 0; i < steps.length; i++) {
            steps[i] = i + 1;
            losses[i] = stepLosses.get(i);
        }
        LineChart chart = new LineChart(runName + ": loss", "step", "loss").logY(logScale)
                .series("train (every step)", steps, losses)
                .points("train (logged steps)", column(logged, 0), column(logged, 1));
        if (!evalPoints.isEmpty()) {
            chart.series("eval", column(evalPoints, 0), column(evalPoints, 1), true);
        }
        return chart;
    }

    private static double[] column(List<double[]> points, int i) {
        double[] out = new double[points.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = points.get(k)[i];
        }
        return out;
    }
}
