package dev.jvq.report;

import dev.jvq.JvqException;
import dev.jvq.io.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Perplexity against bits per parameter, one series per method family, with the Pareto front (the
 * rows no other row beats on both axes) drawn as a line. Written as PNG with XChart, headless.
 */
public final class ParetoPlot {
    private ParetoPlot() {}

    /** Rows not dominated by another row (lower-or-equal BPP and PPL, one strictly lower), by BPP. */
    public static List<ResultRow> front(List<ResultRow> rows) {
        List<ResultRow> out = new ArrayList<>();
        for (ResultRow r : rows) {
            boolean dominated = false;
            for (ResultRow o : rows) {
                if (o != r && o.paperBpp() <= r.paperBpp() && o.ppl() <= r.ppl()
                        && (o.paperBpp() < r.paperBpp() || o.ppl() < r.ppl())) {
                    dominated = true;
                    break;
                }
            }
            if (!dominated) {
                out.add(r);
            }
        }
        out.sort(Comparator.comparingDouble(ResultRow::paperBpp));
        return out;
    }

    /** Method family used to group series: "hasvq-mid" → "hasvq", "rtn4-g32" → "rtn". */
    static String family(String method) {
        int dash = method.indexOf('-');
        String f = dash > 0 ? method.substring(0, dash) : method;
        return f.replaceAll("[0-9]+$", "");
    }

    /** The unquantised row ("fp"), drawn as a reference level. */
    static boolean isReference(ResultRow r) {
        return r.method().equals("fp");
    }

    public static byte[] png(String title, List<ResultRow> rows) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(900).height(600).title(title)
                .xAxisTitle("bits per parameter (paper accounting)").yAxisTitle("perplexity").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(9);
        chart.getStyler().setYAxisLogarithmic(true);
        // The unquantised model sits at 16 or 32 bits, far right of everything else; drawn as a level
        // line across the quantised range instead, it leaves the interesting region readable.
        double maxQuantised = rows.stream().filter(r -> !isReference(r)).mapToDouble(ResultRow::paperBpp).max()
                .orElse(Double.NaN);
        double minQuantised = rows.stream().filter(r -> !isReference(r)).mapToDouble(ResultRow::paperBpp).min()
                .orElse(Double.NaN);
        List<ResultRow> plotted = new ArrayList<>();
        for (ResultRow r : rows) {
            if (isReference(r) && !Double.isNaN(maxQuantised)) {
                XYSeries level = chart.addSeries(String.format(java.util.Locale.ROOT, "%s (%.0f bits): PPL %.3f",
                        r.method(), r.paperBpp(), r.ppl()), new double[] {minQuantised, maxQuantised},
                        new double[] {r.ppl(), r.ppl()});
                level.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
                level.setMarker(SeriesMarkers.NONE);
            } else {
                plotted.add(r);
            }
        }
        Map<String, List<ResultRow>> byFamily = new LinkedHashMap<>();
        for (ResultRow r : plotted) {
            byFamily.computeIfAbsent(family(r.method()), k -> new ArrayList<>()).add(r);
        }
        for (Map.Entry<String, List<ResultRow>> e : byFamily.entrySet()) {
            chart.addSeries(e.getKey(), e.getValue().stream().mapToDouble(ResultRow::paperBpp).toArray(),
                    e.getValue().stream().mapToDouble(ResultRow::ppl).toArray());
        }
        List<ResultRow> front = front(plotted);
        if (front.size() >= 2) {
            XYSeries s = chart.addSeries("Pareto front", front.stream().mapToDouble(ResultRow::paperBpp).toArray(),
                    front.stream().mapToDouble(ResultRow::ppl).toArray());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setMarker(SeriesMarkers.NONE);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            BitmapEncoder.saveBitmap(chart, bytes, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new JvqException("cannot render the Pareto plot: " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    public static void write(Path out, String title, List<ResultRow> rows) {
        AtomicFiles.write(out, png(title, rows));
    }
}
