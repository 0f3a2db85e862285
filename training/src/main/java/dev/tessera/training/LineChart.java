package dev.tessera.training;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Draws line series (loss curves and the like) to a PNG with Java2D, headless. Written
 * atomically: a temporary file renamed over the target.
 *
 * <pre>{@code
 * new LineChart("Training loss", "step", "loss")
 *     .series("train", steps, losses)
 *     .series("eval", evalSteps, evalLosses)
 *     .writePng(Path.of("runs/demo/loss.png"));
 * }</pre>
 */
public final class LineChart {
    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)
    };

    private record Series(String name, double[] x, double[] y) {}

    private final String title, xLabel, yLabel;
    private final List<Series> series = new ArrayList<>();

    public LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Adds a series; x and y must have the same length. */
    public LineChart series(String name, double[] x, double[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("series " + name + ": " + x.length + " x values but " + y.length + " y values");
        }
        series.add(new Series(name, x.clone(), y.clone()));
        return this;
    }

    /** Renders to an image of the given size. */
    public BufferedImage render(int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        int left = 70, right = 20, top = 40, bottom = 50;
        int pw = width - left - right, ph = height - top - bottom;

        double minX = Double.POSITIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                if (Double.isFinite(s.x[i]) && Double.isFinite(s.y[i])) {
                    minX = Math.min(minX, s.x[i]);
                    maxX = Math.max(maxX, s.x[i]);
                    minY = Math.min(minY, s.y[i]);
                    maxY = Math.max(maxY, s.y[i]);
                }
            }
        }
        if (minX > maxX) {
            minX = 0;
            maxX = 1;
            minY = 0;
            maxY = 1;
        }
        if (maxX == minX) {
            maxX = minX + 1;
        }
        if (maxY == minY) {
            maxY = minY + Math.max(1e-6, Math.abs(minY) * 0.1);
        }
        double padY = (maxY - minY) * 0.05;
        minY -= padY;
        maxY += padY;

        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        g.drawString(title, left, 25);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        // grid and ticks
        for (int i = 0; i <= 5; i++) {
            int yPix = top + ph - i * ph / 5;
            double yv = minY + (maxY - minY) * i / 5;
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(left, yPix, left + pw, yPix);
            g.setColor(Color.DARK_GRAY);
            g.drawString(format(yv), 5, yPix + 4);
            int xPix = left + i * pw / 5;
            double xv = minX + (maxX - minX) * i / 5;
            g.drawString(format(xv), xPix - 10, top + ph + 18);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, pw, ph);
        g.drawString(xLabel, left + pw / 2 - 15, height - 10);
        g.rotate(-Math.PI / 2);
        g.drawString(yLabel, -(top + ph / 2) - 15, 14);
        g.rotate(Math.PI / 2);

        g.setStroke(new BasicStroke(2f));
        for (int si = 0; si < series.size(); si++) {
            Series s = series.get(si);
            g.setColor(PALETTE[si % PALETTE.length]);
            Path2D path = new Path2D.Double();
            boolean started = false;
            for (int i = 0; i < s.x.length; i++) {
                if (!Double.isFinite(s.x[i]) || !Double.isFinite(s.y[i])) {
                    continue;
                }
                double px = left + (s.x[i] - minX) / (maxX - minX) * pw;
                double py = top + ph - (s.y[i] - minY) / (maxY - minY) * ph;
                if (!started) {
                    path.moveTo(px, py);
                    started = true;
                } else {
                    path.lineTo(px, py);
                }
                if (s.x.length == 1) {
                    g.fillOval((int) px - 3, (int) py - 3, 6, 6);
                }
            }
            g.draw(path);
            // legend
            int ly = top + 15 + si * 16;
            g.fillRect(left + pw - 130, ly - 8, 14, 4);
            g.setColor(Color.BLACK);
            g.drawString(s.name, left + pw - 110, ly - 2);
        }
        g.dispose();
        return img;
    }

    /** Writes an 800×500 PNG atomically. */
    public void writePng(Path file) {
        Png.writeAtomically(render(800, 500), file);
    }

    private static String format(double v) {
        double a = Math.abs(v);
        if (a != 0 && (a < 1e-3 || a >= 1e5)) {
            return String.format("%.2e", v);
        }
        return a >= 10 ? String.format("%.0f", v) : a >= 1 ? String.format("%.2f", v) : String.format("%.3f", v);
    }
}
