package dev.tessera.training;

import java.awt.Color;
import java.awt.Font;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.renderer.category.StackedBarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Stacked bars drawn with JFreeChart to a PNG (memory tables: one bar per model size and
 * method, stacks for weights / gradients / optimizer state), headless, written atomically. The
 * value axis starts at zero with "nice" ticks (at most three significant digits).
 *
 * <pre>{@code
 * new BarChart("Training memory", "GiB", List.of("weights", "gradients", "optimizer"))
 *     .bar("7B", "full", 13.0, 13.0, 26.1)
 *     .bar("7B", "qlora", 3.6, 0.02, 0.04)
 *     .writePng(Path.of("memory.png"));
 * }</pre>
 */
public final class BarChart {
    private record Bar(String group, String label, double[] parts) {}

    private final String title, unit;
    private final List<String> partNames;
    private final List<Bar> bars = new ArrayList<>();

    public BarChart(String title, String unit, List<String> partNames) {
        this.title = title;
        this.unit = unit;
        this.partNames = List.copyOf(partNames);
    }

    /** Adds a bar to {@code group}; {@code parts} stack in the order of the part names. */
    public BarChart bar(String group, String label, double... parts) {
        if (parts.length != partNames.size()) {
            throw new IllegalArgumentException("bar " + label + ": " + parts.length + " parts, expected " + partNames.size());
        }
        bars.add(new Bar(group, label, parts.clone()));
        return this;
    }

    /** The chart as JFreeChart lays it out (tests read its axis). */
    public JFreeChart build() {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        double max = 0;
        for (Bar b : bars) {
            double sum = 0;
            for (int p = 0; p < b.parts.length; p++) {
                data.addValue(b.parts[p], partNames.get(p), b.group + " " + b.label);
                sum += b.parts[p];
            }
            max = Math.max(max, sum);
        }
        StackedBarRenderer renderer = new StackedBarRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        for (int p = 0; p < partNames.size(); p++) {
            renderer.setSeriesPaint(p, LineChart.PALETTE[p % LineChart.PALETTE.length]);
        }
        CategoryAxis categories = new CategoryAxis("model size and method");
        categories.setCategoryLabelPositions(bars.size() > 8 ? CategoryLabelPositions.UP_45 : CategoryLabelPositions.STANDARD);
        NumberAxis values = new NumberAxis(unit);
        ChartAxes.applyNiceScale(values, 0, max * 1.05, false);
        CategoryPlot plot = new CategoryPlot(data, categories, values, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        JFreeChart chart = new JFreeChart(title, new Font("SansSerif", Font.BOLD, 16), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** The value axis' tick labels as drawn. */
    public List<String> valueTickLabels() {
        JFreeChart c = build();
        return ChartAxes.tickLabels(c, c.getCategoryPlot().getRangeAxis());
    }

    /** Writes the chart as an 800×500 PNG (folders created, written atomically). */
    public void writePng(Path file) {
        ChartAxes.writePng(build(), file);
    }
}
