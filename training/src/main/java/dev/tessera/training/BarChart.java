package dev.tessera.training;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Grouped, stacked bars to a PNG (memory tables: one group per model size, one bar per method,
 * stacks for weights / gradients / optimizer state). Written atomically.
 *
 * <pre>{@code
 * new BarChart("Training memory", "GiB", List.of("weights", "gradients", "optimizer"))
 *     .bar("7B", "full", 13.0, 13.0, 26.1)
 *     .bar("7B", "qlora", 3.6, 0.02, 0.04)
 *     .writePng(Path.of("memory.png"));
 * }</pre>
 */
public final class BarChart {
    private static final Color[] STACK = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728)};

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

    public BufferedImage render(int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        int left = 70, right = 20, top = 50, bottom = 70;
        int pw = width - left - right, ph = height - top - bottom;
        double max = 1e-12;
        for (Bar b : bars) {
            double s = 0;
            for (double p : b.parts) {
                s += p;
            }
            max = Math.max(max, s);
        }
        max *= 1.08;
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.setColor(Color.BLACK);
        g.drawString(title, left, 25);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= 5; i++) {
            int y = top + ph - i * ph / 5;
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(left, y, left + pw, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, max * i / 5 >= 10 ? "%.0f" : "%.1f", max * i / 5), 8, y + 4);
        }
        g.drawString(unit, 8, top - 8);
        List<String> groups = bars.stream().map(Bar::group).distinct().toList();
        int slots = bars.size() + groups.size();
        double slot = (double) pw / Math.max(1, slots);
        int x = 0;
        String prevGroup = null;
        for (Bar b : bars) {
            if (!b.group.equals(prevGroup)) {
                if (prevGroup != null) {
                    x++;
                }
                long members = bars.stream().filter(o -> o.group.equals(b.group)).count();
                g.setColor(Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
                g.drawString(b.group, (int) (left + (x + members / 2.0) * slot) - 10, height - 22);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
                prevGroup = b.group;
            }
            double base = 0;
            int bx = (int) (left + x * slot + slot * 0.1), bw = (int) (slot * 0.8);
            for (int p = 0; p < b.parts.length; p++) {
                int y0 = (int) (top + ph - (base + b.parts[p]) / max * ph);
                int y1 = (int) (top + ph - base / max * ph);
                g.setColor(STACK[p % STACK.length]);
                g.fillRect(bx, y0, bw, Math.max(0, y1 - y0));
                base += b.parts[p];
            }
            g.setColor(Color.DARK_GRAY);
            g.drawString(b.label, bx, top + ph + 14);
            g.drawString(String.format(Locale.ROOT, "%.1f", base), bx, (int) (top + ph - base / max * ph) - 3);
            x++;
        }
        for (int p = 0; p < partNames.size(); p++) {
            g.setColor(STACK[p % STACK.length]);
            g.fillRect(left + pw - 120, top + p * 16, 12, 10);
            g.setColor(Color.BLACK);
            g.drawString(partNames.get(p), left + pw - 104, top + p * 16 + 10);
        }
        g.dispose();
        return img;
    }

    /** Writes a PNG sized to the number of bars, atomically. */
    public void writePng(Path file) {
        Png.writeAtomically(render(Math.max(640, 90 * bars.size() + 160), 480), file);
    }
}
