package dev.tessera.training;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.AtomicFiles;
import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartRenderingInfo;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.AxisState;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.Tick;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.ui.RectangleEdge;

/**
 * What the charts share: "nice" linear axes (ticks at 1, 2 or 5 × 10^k, so no label needs more
 * than three significant digits), tick labels read back from a laid-out chart (for tests), and
 * headless PNG writing that is atomic and says plainly when the machine has no fonts.
 */
final class ChartAxes {
    static final int WIDTH = 800, HEIGHT = 500;

    private ChartAxes() {}

    /** A tick step and the axis range it covers: lo and hi are multiples of step. */
    record Scale(double lo, double hi, double step) {}

    /**
     * The scale for data in [min, max]: 4 to 10 ticks at a multiple of 1, 2 or 5 × 10^k (at least
     * 1 on an integer axis), widened until no tick is more than 99 steps from zero — that keeps
     * every label within three significant digits. A range that starts at or above zero stays there.
     */
    static Scale niceScale(double min, double max, boolean integers) {
        if (!Double.isFinite(min) || !Double.isFinite(max)) {
            min = 0;
            max = 1;
        }
        if (max - min < 1e-9 * Math.max(1e-300, Math.abs(max))) {
            // one value: an axis from zero (or around it) up to just above the value
            double pad = max == 0 ? 1 : Math.abs(max) * 0.1;
            min = min >= 0 ? 0 : min - pad;
            max = max + pad;
        }
        double step = niceStep((max - min) / 6);
        if (integers) {
            step = Math.max(1, step);
        }
        while (true) {
            double lo = Math.floor(min / step + 1e-9) * step, hi = Math.ceil(max / step - 1e-9) * step;
            if (Math.max(Math.abs(lo), Math.abs(hi)) / step <= 99.0 + 1e-9) {
                return new Scale(lo, hi, step);
            }
            step = niceStep(step * 1.5);
        }
    }

    /** The smallest 1, 2 or 5 × 10^k at or above {@code x}. */
    static double niceStep(double x) {
        double p = Math.pow(10, Math.floor(Math.log10(x)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * p >= x * (1 - 1e-9)) {
                return m * p;
            }
        }
        return 10 * p;
    }

    /** Puts the scale of [min, max] on {@code axis}, labelled with as many decimals as the step needs. */
    static void applyNiceScale(NumberAxis axis, double min, double max, boolean integers) {
        Scale s = niceScale(min, max, integers);
        axis.setAutoRange(false);
        // a hair wider than the ticks, so rounding cannot push the first or last tick outside
        // (and 2% more at the top, so markers on the last value are not cut by the frame)
        axis.setRange(s.lo() - s.step() * 1e-6, s.hi() + (s.hi() - s.lo()) * 0.02);
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(s.step()) + 1e-9));
        axis.setTickUnit(new NumberTickUnit(s.step(), decimalFormat(decimals)));
    }

    static DecimalFormat decimalFormat(int decimals) {
        DecimalFormat f = new DecimalFormat(decimals == 0 ? "0" : "0." + "0".repeat(decimals), DecimalFormatSymbols.getInstance(Locale.ROOT));
        f.setGroupingUsed(false);
        return f;
    }

    /** The non-empty tick labels the axis draws when the chart is laid out at the PNG's size. */
    static List<String> tickLabels(JFreeChart chart, ValueAxis axis) {
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            ChartRenderingInfo info = new ChartRenderingInfo();
            chart.draw(g, new Rectangle2D.Double(0, 0, WIDTH, HEIGHT), info);
            Rectangle2D dataArea = info.getPlotInfo().getDataArea();
            RectangleEdge edge = edgeOf(chart, axis);
            List<String> out = new ArrayList<>();
            for (Object t : axis.refreshTicks(g, new AxisState(), dataArea, edge)) {
                String text = ((Tick) t).getText();
                if (text != null && !text.isEmpty()) {
                    out.add(text);
                }
            }
            return out;
        } finally {
            g.dispose();
        }
    }

    private static RectangleEdge edgeOf(JFreeChart chart, ValueAxis axis) {
        if (chart.getPlot() instanceof XYPlot p) {
            return axis == p.getDomainAxis() ? p.getDomainAxisEdge() : p.getRangeAxisEdge();
        }
        return ((CategoryPlot) chart.getPlot()).getRangeAxisEdge();
    }

    /** Renders headless and writes the PNG atomically (a temporary file beside {@code file}, renamed over it). */
    static void writePng(JFreeChart chart, Path file) {
        BufferedImage image;
        try {
            image = chart.createBufferedImage(WIDTH, HEIGHT);
        } catch (Error | RuntimeException e) {
            // A JDK without fonts (no fontconfig, no font files) fails inside AWT's font setup.
            throw new TesseraException(file + ": cannot draw the chart (" + (e.getMessage() == null ? "AWT font setup failed" : e.getMessage().lines().findFirst().orElse(""))
                    + "); install a font, e.g. apt-get install fontconfig fonts-dejavu-core", e);
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot write chart: " + e.getMessage(), e);
        }
        // ImageIO leaves the stream open: AtomicFiles forces and closes the channel itself
        AtomicFiles.write(file, channel -> ImageIO.write(image, "png", Channels.newOutputStream(channel)));
    }
}
