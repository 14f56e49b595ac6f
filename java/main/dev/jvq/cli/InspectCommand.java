package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.format.JvqContents;
import dev.jvq.format.JvqFile;
import dev.jvq.format.JvqReader;
import dev.jvq.quant.BitReport;
import dev.jvq.quant.Codebook;
import dev.jvq.tensor.Tensor;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code jvq inspect F.jvq}: validates a compressed model file and prints, per layer and in total,
 * parameters, storage bits by part, and the paper / block / file bits per parameter.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Validate a .jvq file and print its layers, bits by part and bits per parameter.")
public final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "the .jvq model file")
    Path file;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (JvqFile f = JvqReader.open(file)) {
            JvqContents c = f.contents();
            BitReport rep = c.bitReport(f.size());
            if (json) {
                ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
                out.println(m.writeValueAsString(toJson(f, rep)));
            } else {
                printText(out, f, rep);
            }
        }
        out.flush();
        return 0;
    }

    static ObjectNode toJson(JvqFile f, BitReport rep) {
        JvqContents c = f.contents();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("file", f.path().toString());
        o.put("bytes", f.size());
        o.put("payloadBytes", f.sectionBytes());
        o.put("headerBytes", f.headerBytes());
        o.put("overheadBytes", f.overheadBytes());
        o.set("metadata", c.metadata());
        if (c.tokenizer() != null) {
            o.putObject("tokenizer").put("kind", c.tokenizer().kind()).put("bytes", c.tokenizer().bytes().byteSize());
        }
        ArrayNode layers = o.putArray("layers");
        for (BitReport.Layer l : rep.layers()) {
            ObjectNode n = layers.addObject();
            n.put("name", l.name());
            n.put("method", l.method());
            n.put("rows", l.rows());
            n.put("cols", l.cols());
            n.put("params", l.params());
            ObjectNode bits = n.putObject("bits");
            l.parts().forEach(bits::put);
            n.put("totalBits", l.bits());
            n.put("bpp", l.bpp());
        }
        ArrayNode cbs = o.putArray("sharedCodebooks");
        for (Codebook cb : c.sharedCodebooks()) {
            cbs.addObject().put("name", cb.name()).put("k", cb.k()).put("b", cb.b()).put("bits", cb.bits());
        }
        ArrayNode tensors = o.putArray("tensors");
        for (JvqContents.StoredTensor t : c.tensors()) {
            ObjectNode n = tensors.addObject();
            n.put("name", t.tensor().name());
            n.put("role", t.role().label);
            n.put("dtype", t.tensor().dtype().name());
            ArrayNode shape = n.putArray("shape");
            for (long d : t.tensor().shape()) {
                shape.add(d);
            }
            n.put("params", t.tensor().elements());
        }
        ObjectNode totals = o.putObject("totals");
        totals.put("modelParams", rep.modelParams());
        totals.put("quantizedParams", rep.quantizedParams());
        totals.put("quantizedBits", rep.quantizedBits());
        totals.put("denseLinearParams", rep.denseLinearParams());
        totals.put("headParams", rep.headParams());
        ObjectNode parts = totals.putObject("bitsByPart");
        rep.totalsByPart().forEach(parts::put);
        putFinite(o, "paperBpp", rep.paperBpp());
        putFinite(o, "blockBpp", rep.blockBpp());
        putFinite(o, "fileBpp", rep.fileBpp());
        return o;
    }

    private static void putFinite(ObjectNode o, String field, double v) {
        if (Double.isFinite(v)) {
            o.put(field, v);
        } else {
            o.putNull(field);
        }
    }

    private static void printText(PrintWriter out, JvqFile f, BitReport rep) {
        JvqContents c = f.contents();
        out.printf(Locale.ROOT, "%s: %,d bytes (payload %,d, header %,d, preamble and padding %,d)%n", f.path(), f.size(),
                f.sectionBytes(), f.headerBytes(), f.overheadBytes());
        if (c.metadata().has("method")) {
            out.println("method: " + c.metadata().get("method").asText());
        }
        if (c.tokenizer() != null) {
            out.printf(Locale.ROOT, "tokenizer: %s, %,d bytes%n", c.tokenizer().kind(), c.tokenizer().bytes().byteSize());
        }
        if (!rep.layers().isEmpty()) {
            LinkedHashSet<String> partNames = new LinkedHashSet<>();
            rep.layers().forEach(l -> partNames.addAll(l.parts().keySet()));
            List<String> head = new ArrayList<>(List.of("layer", "method", "shape", "params"));
            head.addAll(partNames);
            head.addAll(List.of("total bits", "bpp"));
            List<String[]> rows = new ArrayList<>();
            for (BitReport.Layer l : rep.layers()) {
                List<String> r = new ArrayList<>(List.of(l.name(), l.method(), l.rows() + "x" + l.cols(), num(l.params())));
                for (String p : partNames) {
                    Long v = l.parts().get(p);
                    r.add(v == null ? "-" : num(v));
                }
                r.add(num(l.bits()));
                r.add(String.format(Locale.ROOT, "%.3f", l.bpp()));
                rows.add(r.toArray(String[]::new));
            }
            List<String> total = new ArrayList<>(List.of("total", "", "", num(rep.quantizedParams())));
            Map<String, Long> byPart = rep.totalsByPart();
            for (String p : partNames) {
                total.add(num(byPart.getOrDefault(p, 0L)));
            }
            total.add(num(rep.quantizedBits()));
            total.add(String.format(Locale.ROOT, "%.3f", (double) rep.quantizedBits() / rep.quantizedParams()));
            rows.add(total.toArray(String[]::new));
            printTable(out, head.toArray(String[]::new), rows);
        }
        for (Codebook cb : c.sharedCodebooks()) {
            out.printf(Locale.ROOT, "shared codebook %s: %d x %d fp16, %,d bits (counted once in the total)%n", cb.name(),
                    cb.k(), cb.b(), cb.bits());
        }
        if (!c.tensors().isEmpty()) {
            out.println("unquantised tensors:");
            List<String[]> rows = new ArrayList<>();
            for (JvqContents.StoredTensor t : c.tensors()) {
                Tensor x = t.tensor();
                rows.add(new String[] {x.name(), t.role().label, x.dtype().name(), Arrays.toString(x.shape()),
                        num(x.elements())});
            }
            printTable(out, new String[] {"tensor", "role", "dtype", "shape", "params"}, rows);
        }
        out.printf(Locale.ROOT, "model parameters: %,d%n", rep.modelParams());
        out.printf(Locale.ROOT, "paper BPP: %s  (linear layers, output head at 16 bits, embeddings not counted)%n",
                bpp(rep.paperBpp()));
        out.printf(Locale.ROOT, "block BPP: %s  (quantised block linears only)%n", bpp(rep.blockBpp()));
        out.printf(Locale.ROOT, "file BPP:  %s  (file size in bits over all %,d parameters)%n", bpp(rep.fileBpp()),
                rep.modelParams());
    }

    private static String bpp(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "n/a";
    }

    private static String num(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    private static void printTable(PrintWriter out, String[] head, List<String[]> rows) {
        int[] w = new int[head.length];
        for (int i = 0; i < head.length; i++) {
            w[i] = head[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, head, w);
        for (String[] r : rows) {
            line(sb, r, w);
        }
        out.print(sb);
    }

    private static void line(StringBuilder sb, String[] cells, int[] w) {
        for (int i = 0; i < cells.length; i++) {
            boolean left = i < 2;
            String pad = " ".repeat(w[i] - cells[i].length());
            sb.append(i == 0 ? "" : "  ").append(left ? cells[i] + pad : pad + cells[i]);
        }
        sb.append(System.lineSeparator());
    }
}
