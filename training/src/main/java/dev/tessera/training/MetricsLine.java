package dev.tessera.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.TesseraException;

/**
 * One line of {@code metrics.jsonl} (and one entry of a checkpoint's {@code log_history}): a
 * training step's metrics or an evaluation. JSON has no NaN, so a value that is not a number (a
 * step with no labelled token has no loss) is written as {@code null} and read back as NaN.
 */
public sealed interface MetricsLine {
    /** The optimizer step the line belongs to (1-based). */
    long step();

    /** The line as metrics.jsonl writes it, keys in a fixed order. */
    ObjectNode toJson();

    /**
     * A logged training step. {@code allreduceSeconds} and {@code ranks} are set only in
     * data-parallel runs, {@code pagesMoved} and {@code pagedStateBytes} only when a paged
     * optimizer pages something (otherwise null, and left out of the line).
     */
    record Step(long step, double epoch, double loss, double lr, double gradNorm, double tokensPerSecond,
                double stepSeconds, long peakRssBytes, long peakLiveBytes, Double allreduceSeconds, Integer ranks,
                Long pagesMoved, Long pagedStateBytes, boolean skipped) implements MetricsLine {
        @Override
        public ObjectNode toJson() {
            ObjectNode line = JsonNodeFactory.instance.objectNode();
            line.put("step", step);
            line.put("epoch", epoch);
            putNumber(line, "loss", loss);
            line.put("lr", lr);
            putNumber(line, "grad_norm", gradNorm);
            line.put("tokens_per_s", tokensPerSecond);
            line.put("step_s", stepSeconds);
            line.put("peak_rss_bytes", peakRssBytes);
            line.put("peak_live_bytes", peakLiveBytes);
            if (allreduceSeconds != null) {
                line.put("allreduce_s", allreduceSeconds);
                line.put("ranks", ranks);
            }
            if (pagesMoved != null) {
                line.put("pages_moved", pagesMoved);
                line.put("paged_state_bytes", pagedStateBytes);
            }
            if (skipped) {
                line.put("skipped", true);
            }
            return line;
        }
    }

    /** An evaluation: the mean eval loss; {@code perplexity} only on the final evaluation (else null). */
    record Eval(long step, double evalLoss, Double perplexity) implements MetricsLine {
        @Override
        public ObjectNode toJson() {
            ObjectNode line = JsonNodeFactory.instance.objectNode();
            line.put("step", step);
            putNumber(line, "eval_loss", evalLoss);
            if (perplexity != null) {
                putNumber(line, "eval_perplexity", perplexity);
            }
            return line;
        }
    }

    /**
     * A line read back (from a checkpoint's log history): an evaluation when it has
     * {@code eval_loss}, else a training step. Only {@code step} is required; metrics a line lacks
     * read as NaN or 0.
     */
    static MetricsLine fromJson(JsonNode n, String where) {
        if (n == null || !n.isObject() || !n.path("step").canConvertToLong() || !n.path("step").isIntegralNumber()) {
            throw new TesseraException(where + ": expected an object with an integer \"step\", got " + abbreviate(n));
        }
        long step = n.get("step").asLong();
        if (n.has("eval_loss")) {
            return new Eval(step, number(n, "eval_loss"), n.has("eval_perplexity") ? number(n, "eval_perplexity") : null);
        }
        return new Step(step, number(n, "epoch"), number(n, "loss"), number(n, "lr"), number(n, "grad_norm"),
                number(n, "tokens_per_s"), number(n, "step_s"), n.path("peak_rss_bytes").asLong(), n.path("peak_live_bytes").asLong(),
                n.has("allreduce_s") ? number(n, "allreduce_s") : null, n.has("ranks") ? n.get("ranks").asInt() : null,
                n.has("pages_moved") ? n.get("pages_moved").asLong() : null,
                n.has("paged_state_bytes") ? n.get("paged_state_bytes").asLong() : null, n.path("skipped").asBoolean(false));
    }

    private static void putNumber(ObjectNode line, String key, double v) {
        if (Double.isFinite(v)) {
            line.put(key, v);
        } else {
            line.putNull(key);
        }
    }

    private static double number(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
    }

    private static String abbreviate(JsonNode n) {
        String s = String.valueOf(n);
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
