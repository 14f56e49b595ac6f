package dev.jvq.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParetoPlotTest {
    private final List<ResultRow> rows = List.of(
            new ResultRow("fp", "f32", 5.74, 32, 32, 32),
            new ResultRow("rtn4-row", "4 bit per row", 6.91, 4.21, 4.21, 4.5),
            new ResultRow("rtn3-g32", "3 bit g32", 17.7, 3.51, 3.51, 3.8),
            new ResultRow("hasvq-mid", "b=4", 9.4, 4.26, 4.26, 4.6),   // dominated by rtn4-row
            new ResultRow("hasvq-high", "b=2", 5.77, 6.96, 6.96, 7.2));

    @Test
    void frontDropsDominatedRowsAndSortsByBits() {
        List<ResultRow> f = ParetoPlot.front(rows);
        assertEquals(List.of("rtn3-g32", "rtn4-row", "hasvq-high", "fp"), f.stream().map(ResultRow::method).toList());
    }

    @Test
    void familyGroupsMethodNames() {
        assertEquals("hasvq", ParetoPlot.family("hasvq-mid"));
        assertEquals("rtn", ParetoPlot.family("rtn4-g32"));
        assertEquals("fp", ParetoPlot.family("fp"));
    }

    @Test
    void writesAPng(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("pareto.png");
        ParetoPlot.write(out, "test", rows);
        byte[] b = Files.readAllBytes(out);
        assertTrue(b.length > 1000);
        assertEquals((byte) 0x89, b[0]);
        assertEquals('P', b[1]);
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
    }

    @Test
    void markdownHasOneLinePerRow() {
        String md = ResultsTable.markdown("t", rows);
        assertEquals(rows.size() + 4, md.split("\n").length);
        assertTrue(md.contains("| rtn4-row | 4 bit per row | 6.9100 | 4.210 | 4.210 | 4.500 | 3.80× |"), md);
    }
}
