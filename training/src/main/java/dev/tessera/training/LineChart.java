package dev.tessera.training;

import java.awt.BasicStroke;
import java.awt.Graphics2D;
import java.math.BigDecimal;
import java.math.MathContext;
import org.jfree.chart.axis.NumberTick;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;
import java.awt.Color;
import java.awt.Font;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Line charts (loss curves and the like) drawn with JFreeChart to an 800×500 PNG, headless,
 * written atomically. Axes get "nice" ticks (1, 2 or 5 × 10^k, at most three significant
 * digits), the x axis integer ticks unless {@link #fractionalX()}; the y axis can be
 * logarithmic. Series differ in colour and line style; {@link #points} marks values without a line.
 *
 * <pre>{@code
 * new LineChart("run-1 (lora): loss", "step", "loss")
 *     .series("train", steps, losses)
 *     .points("train (logged)", loggedSteps, loggedLosses)
 *     .series("eval", evalSteps, evalLosses, true)
 *     .writePng(Path.of("runs/demo/loss.png"));
 * }</pre>
 */
public final class LineChart {
    static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)
    };
    /** Dash patterns so series stay apart in grey print and where they overlap: solid, dashed, dotted, dash-dot. */
    private static final float[][] DASHES = {null, {10f, 5f}, {2f, 4f}, {10f, 4f, 2f, 4f}, {18f, 6f}, {4f, 4f}};
    private static final Shape[] SHAPES = {
        new Ellipse2D.Double(-3.5, -3.5, 7, 7), new Rectangle2D.Double(-3, -3, 6, 6), new Ellipse2D.Double(-2.5, -2.5, 5, 5)
    };

    /** line: a line through every value; markers: with a shape at each value; points: shapes only, in the previous series' colour. */
    private record Series(String name, double[] x, double[] y, boolean line, boolean markers, boolean sameColourAsPrevious) {}

    private final String title, xLabel, yLabel;
    private final List<Series> series = new ArrayList<>();
    private boolean logY;
    private boolean integerX = true;

    public LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Adds a line through (x, y); x and y must have the same length; non-finite values are left out. */
    public LineChart series(String name, double[] x, double[] y) {
        return add(new Series(name, check(name, x, y), y.clone(), true, false, false));
    }

    /** Adds a line with a marker at every value. */
    public LineChart series(String name, double[] x, double[] y, boolean markers) {
        return add(new Series(name, check(name, x, y), y.clone(), true, markers, false));
    }

    /** Marks values without a line, in the colour of the series added before (e.g. the logged steps of a curve). */
    public LineChart points(String name, double[] x, double[] y) {
        return add(new Series(name, check(name, x, y), y.clone(), false, true, !series.isEmpty()));
    }

    /** A logarithmic y axis (losses spanning decades). */
    public LineChart logY(boolean on) {
        logY = on;
        return this;
    }

    /** x values that are not counts (e.g. an epoch fraction): ticks may fall between integers. */
    public LineChart fractionalX() {
        integerX = false;
        return this;
    }

    private LineChart add(Series s) {
        series.add(s);
        return this;
    }

    private static double[] check(String name, double[] x, double[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("series " + name + ": " + x.length + " x values but " + y.length + " y values");
        }
        return x.clone();
    }

    /** The chart as JFreeChart lays it out (tests read its axes). */
    public JFreeChart build() {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer();
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY, yMax = Double.NEGATIVE_INFINITY;
        int colour = -1, lineStyle = 0;
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            XYSeries xy = new XYSeries(s.name, false, true);
            for (int k = 0; k < s.x.length; k++) {
                if (Double.isFinite(s.x[k]) && Double.isFinite(s.y[k]) && (!logY || s.y[k] > 0)) {
                    xy.add(s.x[k], s.y[k]);
                    xMin = Math.min(xMin, s.x[k]);
                    xMax = Math.max(xMax, s.x[k]);
                    yMin = Math.min(yMin, s.y[k]);
                    yMax = Math.max(yMax, s.y[k]);
                }
            }
            data.addSeries(xy);
            if (!s.sameColourAsPrevious) {
                colour++;
            }
            renderer.setSeriesPaint(i, PALETTE[Math.floorMod(colour, PALETTE.length)]);
            renderer.setSeriesLinesVisible(i, s.line);
            renderer.setSeriesShapesVisible(i, s.markers);
            renderer.setSeriesShape(i, SHAPES[i % SHAPES.length]);
            if (s.line) {
                float[] dash = DASHES[lineStyle++ % DASHES.length];
                renderer.setSeriesStroke(i, dash == null ? new BasicStroke(2f)
                        : new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, dash, 0f));
            }
        }
        NumberAxis x = new NumberAxis(xLabel);
        ChartAxes.applyNiceScale(x, xMin, xMax, integerX);
        ValueAxis y;
        if (logY) {
            LogarithmicAxis log = new NiceLogAxis(yLabel + " (log scale)");
            log.setStrictValuesFlag(false);
            log.setAutoRange(false);
            double lo = Double.isFinite(yMin) ? Math.pow(10, Math.floor(Math.log10(yMin) * 10) / 10) : 0.1;
            double hi = Double.isFinite(yMax) ? Math.pow(10, Math.ceil(Math.log10(yMax) * 10) / 10) : 10;
            log.setRange(lo, Math.max(hi, lo * 1.5));
            y = log;
        } else {
            NumberAxis lin = new NumberAxis(yLabel);
            ChartAxes.applyNiceScale(lin, yMin, yMax, false);
            y = lin;
        }
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        JFreeChart chart = new JFreeChart(title, new Font("SansSerif", Font.BOLD, 16), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /**
     * A log axis labelled at 1, 2 and 5 × 10^k (every integer multiple within one decade, nice
     * linear steps within a narrower range), never more than three significant digits.
     */
    private static final class NiceLogAxis extends LogarithmicAxis {
        NiceLogAxis(String label) {
            super(label);
        }

        @Override
        @SuppressWarnings("rawtypes")
        protected List refreshTicksVertical(Graphics2D g2, Rectangle2D dataArea, RectangleEdge edge) {
            List<NumberTick> ticks = new ArrayList<>();
            for (double v : values(getLowerBound(), getUpperBound())) {
                ticks.add(new NumberTick(v, label(v), TextAnchor.CENTER_RIGHT, TextAnchor.CENTER_RIGHT, 0.0));
            }
            return ticks;
        }

        static List<Double> values(double lo, double hi) {
            List<Double> out = new ArrayList<>();
            double[] multiples = hi / lo >= 10 ? new double[] {1, 2, 5} : new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9};
            for (int k = (int) Math.floor(Math.log10(lo)); k <= (int) Math.ceil(Math.log10(hi)); k++) {
                for (double m : multiples) {
                    double v = m * Math.pow(10, k);
                    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
                        out.add(v);
                    }
                }
            }
            if (out.size() < 3) {
                out.clear();
                ChartAxes.Scale s = ChartAxes.niceScale(lo, hi, false);
                for (double v = s.lo(); v <= hi * (1 + 1e-9); v += s.step()) {
                    if (v >= lo * (1 - 1e-9)) {
                        out.add(v);
                    }
                }
            }
            return out;
        }

        static String label(double v) {
            return new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
        }
    }

    /** The x axis' tick labels as drawn. */
    public List<String> xTickLabels() {
        JFreeChart c = build();
        return ChartAxes.tickLabels(c, c.getXYPlot().getDomainAxis());
    }

    /** The y axis' tick labels as drawn. */
    public List<String> yTickLabels() {
        JFreeChart c = build();
        return ChartAxes.tickLabels(c, c.getXYPlot().getRangeAxis());
    }

    /** Writes the chart as an 800×500 PNG (folders created, written atomically). */
    public void writePng(Path file) {
        ChartAxes.writePng(build(), file);
    }
}
