package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The 35 block linears of the real stories260K model through every quantiser, with the bits per
 * parameter checked against the independent figures of ALGORITHMS.md section 7.
 */
class FixtureModelBitsTest {
    static CpuBackend cpu;
    static Arena arena;
    static List<HasVqQuantizer.Input> linears;

    /** Reads the block linears of the llama2.c file directly (dim 64, hidden 172, 5 layers, kv dim 32). */
    @BeforeAll
    static void load() throws IOException {
        cpu = new CpuBackend();
        arena = Arena.ofShared();
        Path p = Path.of(System.getProperty("jvq.fixtures"), "stories260K.bin");
        MemorySegment f;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            f = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
        int dim = 64;
        int hidden = 172;
        int layers = 5;
        int kv = 32;
        long off = 28 + 4L * (512 * dim + layers * dim); // header, token embedding, rms_att
        linears = new ArrayList<>();
        String[] names = {"wq", "wk", "wv", "wo"};
        int[][] shapes = {{dim, dim}, {kv, dim}, {kv, dim}, {dim, dim}};
        List<List<HasVqQuantizer.Input>> perLayer = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            perLayer.add(new ArrayList<>());
        }
        for (int m = 0; m < 4; m++) {
            off = slice(f, off, names[m], shapes[m], layers, perLayer);
        }
        off += 4L * layers * dim; // rms_ffn
        off = slice(f, off, "w1", new int[] {hidden, dim}, layers, perLayer);
        off = slice(f, off, "w2", new int[] {dim, hidden}, layers, perLayer);
        slice(f, off, "w3", new int[] {hidden, dim}, layers, perLayer);
        perLayer.forEach(linears::addAll);
        assertEquals(35, linears.size());
    }

    private static long slice(MemorySegment f, long off, String name, int[] shape, int layers,
            List<List<HasVqQuantizer.Input>> out) {
        long bytes = 4L * shape[0] * shape[1];
        for (int l = 0; l < layers; l++) {
            Tensor t = new Tensor("layers." + l + "." + name, DType.F32, new long[] {shape[0], shape[1]},
                    f.asSlice(off, bytes));
            out.get(l).add(new HasVqQuantizer.Input(t.name(), name, t, null));
            off += bytes;
        }
        return off;
    }

    @AfterAll
    static void close() {
        arena.close();
    }

    private static double hasvqBpp(int b, int k, double rho) {
        try (Arena a = Arena.ofConfined()) {
            // One k-means pass is enough here: the bits do not depend on the iterations.
            HasVqParams p = new HasVqParams(b, k, rho, 200, 1, 0);
            HasVqQuantizer.Result r = HasVqQuantizer.quantize(linears, p, CodebookScope.MODEL, cpu, a, s -> { });
            assertTrue(r.warnings().isEmpty(), r.warnings().toString());
            BitReport rep = BitReport.of(r.layers(), 0, 0, 0, -1);
            assertEquals(226_560, rep.quantizedParams());
            return rep.blockBpp();
        }
    }

    private static double rtnBpp(RtnParams p) {
        try (Arena a = Arena.ofConfined()) {
            List<QuantizedLayer> layers = new ArrayList<>();
            for (HasVqQuantizer.Input in : linears) {
                layers.add(Rtn.quantize(in.name(), in.weight(), p, a));
            }
            return BitReport.of(layers, 0, 0, 0, -1).blockBpp();
        }
    }

    @Test
    void hasvqBitsMatchTheOrientationTable() {
        assertEquals(4.26, hasvqBpp(4, 2048, 0.015), 0.005);
        assertEquals(4.25, hasvqBpp(2, 256, 0.0), 0.005);
        assertEquals(6.96, hasvqBpp(2, 2048, 0.02), 0.005);
    }

    @Test
    void rtnBitsMatchTheOrientationTable() {
        assertEquals(4.21, rtnBpp(RtnParams.INT4_ROW), 0.005);
        // The table's group-wise rows store one fp16 scale per group (symmetric): our default.
        assertEquals(4.51, rtnBpp(new RtnParams(4, 32, true)), 0.005);
        assertEquals(3.51, rtnBpp(new RtnParams(3, 32, true)), 0.005);
        // The -asym variant adds an fp16 minimum per group: 16 more bits per 32 weights (less for 172-wide rows).
        assertEquals(5.03, rtnBpp(new RtnParams(4, 32, false)), 0.005);
    }
}
