package dev.jvq.report;

import dev.jvq.io.AtomicFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Renders results as the paper's Table 1, for the terminal and as Markdown. */
public final class ResultsTable {
    private ResultsTable() {}

    public static String markdown(String title, List<ResultRow> rows) {
        StringBuilder sb = new StringBuilder();
        if (title != null && !title.isEmpty()) {
            sb.append("## ").append(title).append("\n\n");
        }
        sb.append("| method | configuration | PPL | paper BPP | block BPP | file BPP | ratio to 16-bit |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|\n");
        for (ResultRow r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %.3f | %.3f | %.3f | %.2f× |%n", r.method(),
                    r.configuration(), r.ppl(), r.paperBpp(), r.blockBpp(), r.fileBpp(), r.ratioTo16()));
        }
        return sb.toString();
    }

    /** Fixed-width text for a terminal. */
    public static String text(List<ResultRow> rows) {
        int mw = "method".length();
        int cw = "configuration".length();
        for (ResultRow r : rows) {
            mw = Math.max(mw, r.method().length());
            cw = Math.max(cw, r.configuration().length());
        }
        String fmt = "%-" + mw + "s  %-" + cw + "s  %10s  %9s  %9s  %8s  %7s%n";
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, fmt, "method", "configuration", "PPL",
                "paper BPP", "block BPP", "file BPP", "ratio"));
        for (ResultRow r : rows) {
            sb.append(String.format(Locale.ROOT, fmt, r.method(), r.configuration(),
                    String.format(Locale.ROOT, "%.4f", r.ppl()), String.format(Locale.ROOT, "%.3f", r.paperBpp()),
                    String.format(Locale.ROOT, "%.3f", r.blockBpp()), String.format(Locale.ROOT, "%.3f", r.fileBpp()), String.format(Locale.ROOT, "%.2fx", r.ratioTo16())));
        }
        return sb.toString();
    }

    public static void writeMarkdown(Path out, String title, List<ResultRow> rows) {
        AtomicFiles.write(out, markdown(title, rows).getBytes(StandardCharsets.UTF_8));
    }
}
