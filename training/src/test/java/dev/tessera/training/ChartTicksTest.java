package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.doubles;
import static org.quicktheories.generators.SourceDSL.integers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Tick labels read back from the chart objects: nice numbers, integer steps, no loss axis below zero. */
class ChartTicksTest {
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");

    /** Significant digits of a label as written ("0.250" has 3, "120" has 2, "0" has 1). */
    static int significantDigits(String label) {
        BigDecimal d = new BigDecimal(label).stripTrailingZeros();
        return d.signum() == 0 ? 1 : d.precision();
    }

    static void assertNice(List<String> labels, boolean integers, String what) {
        assertTrue(labels.size() >= 2, what + ": at least two labelled ticks, got " + labels);
        for (String l : labels) {
            assertTrue(NUMBER.matcher(l).matches(), what + ": label '" + l + "' is a plain number");
            assertTrue(significantDigits(l) <= 3, what + ": label '" + l + "' has at most 3 significant digits: " + labels);
            if (integers) {
                assertFalse(l.contains("."), what + ": integer label, got '" + l + "' in " + labels);
            }
        }
    }

    @Test
    void lossCurvesOfAnyRangeGetNiceTicks() {
        qt().withExamples(60).forAll(integers().between(2, 5000), doubles().between(1e-3, 20), doubles().between(0.001, 0.99))
                .checkAssert((steps, first, dropFraction) -> {
                    double[] x = new double[steps], y = new double[steps];
                    for (int i = 0; i < steps; i++) {
                        x[i] = i + 1;
                        y[i] = first * (1 - dropFraction * i / (steps - 1.0));
                    }
                    LineChart chart = new LineChart("run (lora): loss", "step", "loss").series("train", x, y);
                    List<String> xs = chart.xTickLabels(), ys = chart.yTickLabels();
                    assertNice(xs, true, "steps 1.." + steps);
                    assertNice(ys, false, "loss " + first + " falling by " + dropFraction);
                    assertTrue(Double.parseDouble(ys.get(0)) >= 0, "a loss axis never goes below zero: " + ys);
                });
    }

    @Test
    void theIssuesExampleNoLongerHasOddTicks() {
        // the hand-drawn chart showed 8.93, 7.07, 5.21, ... -0.377 and steps 1.00, 25, 49, 72
        double[] x = new double[72], y = new double[72];
        for (int i = 0; i < 72; i++) {
            x[i] = i + 1;
            y[i] = 0.3 + 8.6 * Math.exp(-i / 8.0);
        }
        LineChart chart = new LineChart("t", "step", "loss").series("train", x, y);
        assertEquals(List.of("0", "20", "40", "60", "80"), chart.xTickLabels());
        assertEquals(List.of("0", "2", "4", "6", "8", "10"), chart.yTickLabels());
    }

    @Test
    void aLogScaleLossAxisHasShortLabels() {
        double[] x = {1, 2, 3, 4, 5}, y = {9.0, 3.1, 1.0, 0.31, 0.12};
        LineChart chart = new LineChart("t", "step", "loss").logY(true).series("train", x, y);
        List<String> ys = chart.yTickLabels();
        assertNice(ys, false, "log axis");
        assertTrue(ys.contains("1"), "a decade is labelled: " + ys);
    }

    @Test
    void aLogScaleAxisOverANarrowRangeStillHasLabels() {
        qt().withExamples(30).forAll(doubles().between(0.01, 20), doubles().between(1.02, 50)).checkAssert((low, ratio) -> {
            LineChart chart = new LineChart("t", "step", "loss").logY(true)
                    .series("train", new double[] {1, 2, 3}, new double[] {low * ratio, low * Math.sqrt(ratio), low});
            assertNice(chart.yTickLabels(), false, "log axis over " + low + " .. " + low * ratio);
        });
    }

    @Test
    void theTrainersChartPlotsEveryStepMarksLoggedOnesAndShowsEval() {
        List<Double> steps = new ArrayList<>();
        for (int i = 0; i < 37; i++) {
            steps.add(4.0 / (1 + i * 0.2));
        }
        ObjectMapper json = new ObjectMapper();
        List<ObjectNode> history = new ArrayList<>();
        for (int s = 10; s <= 37; s += 10) {
            history.add(json.createObjectNode().put("step", s).put("loss", steps.get(s - 1)));
        }
        history.add(json.createObjectNode().put("step", 37).put("loss", steps.get(36)));
        history.add(json.createObjectNode().put("step", 37).put("eval_loss", 1.2));
        history.add(json.createObjectNode().put("step", 5).putNull("loss")); // a step with nothing labelled
        LineChart chart = MetricsLog.lossChart("out-lora (lora)", steps,
                history.stream().map(n -> MetricsLine.fromJson(n, "history")).toList(), false);
        var built = chart.build();
        assertEquals("out-lora (lora): loss", built.getTitle().getText());
        var data = built.getXYPlot().getDataset();
        assertEquals(3, data.getSeriesCount());
        assertEquals(37, data.getItemCount(0), "every step");
        assertEquals(4, data.getItemCount(1), "the logged steps with a loss");
        assertEquals(1, data.getItemCount(2), "eval");
        assertNice(chart.xTickLabels(), true, "trainer steps");
        assertNice(chart.yTickLabels(), false, "trainer loss");
    }

    @Test
    void memoryBarsGetNiceTicksFromZero() {
        BarChart chart = new BarChart("memory", "GiB", List.of("weights", "gradients", "optimizer"))
                .bar("7B", "full", 26.1, 26.1, 52.2).bar("7B", "qlora", 3.6, 0.02, 0.04)
                .bar("70B", "full", 261, 261, 522);
        List<String> ticks = chart.valueTickLabels();
        assertNice(ticks, false, "memory");
        assertEquals("0", ticks.get(0));
    }
}
