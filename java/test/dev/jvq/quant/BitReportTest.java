package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BitReportTest {

    static VqLinear vq(String name, long rows, long cols, Codebook cb, long nnz, Arena a) {
        int bits = BitPacker.bitsFor(cb.k());
        long m = VqLinear.vectors(rows, cols, cb.b());
        return new VqLinear(name, rows, cols, cb, bits, a.allocate(BitPacker.packedBytes(m, bits) + 8),
                a.allocate(rows * 2), nnz, a.allocate(nnz * 4), a.allocate(nnz * 2));
    }

    static RtnLinear rtn(String name, long rows, long cols, RtnParams p, Arena a) {
        long groups = rows * p.groupsPerRow(cols);
        return new RtnLinear(name, rows, cols, p, a.allocate(BitPacker.packedBytes(rows * cols, p.bits()) + 8),
                a.allocate(groups * 2), p.symmetric() ? null : a.allocate(groups * 2));
    }

    @Test
    void handComputedLayerBits() {
        try (Arena a = Arena.ofConfined()) {
            // 10 x 7, b = 3, K = 5: M = ceil(70/3) = 24 vectors of 3 bits; 2 outliers.
            VqLinear v = vq("v", 10, 7, new Codebook(null, 5, 3, a.allocate(30)), 2, a);
            assertEquals(Map.of("indices", 72L, "sparse", 96L, "codebook", 240L, "scales", 160L), v.bitsByPart());
            // paper INT4: 70·4 + 10·16
            RtnLinear r4 = rtn("r", 10, 7, RtnParams.INT4_ROW, a);
            assertEquals(Map.of("codes", 280L, "scales", 160L, "zeros", 0L), r4.bitsByPart());
            // rtn3-g4 on 7 columns: 2 groups per row (4 + 3), 20 groups, scale and minimum each
            RtnLinear r3 = rtn("r3", 10, 7, new RtnParams(3, 4, false), a);
            assertEquals(Map.of("codes", 210L, "scales", 320L, "zeros", 320L), r3.bitsByPart());

            BitReport rep = BitReport.of(List.of(v, r4, r3), 0, 50, 210 + 50 + 13, 1000);
            assertEquals(568 + 440 + 850, rep.quantizedBits());
            assertEquals((568 + 440 + 850 + 50 * 16) / (210.0 + 50), rep.paperBpp(), 1e-12);
            assertEquals((568 + 440 + 850) / 210.0, rep.blockBpp(), 1e-12);
            assertEquals(8000.0 / 273, rep.fileBpp(), 1e-12);
        }
    }

    @Test
    void sharedCodebookCountedOnce() {
        try (Arena a = Arena.ofConfined()) {
            Codebook shared = new Codebook("model", 256, 2, a.allocate(256 * 2 * 2));
            VqLinear x = vq("x", 64, 64, shared, 0, a); // M = 2048 vectors of 8 bits
            VqLinear y = vq("y", 32, 64, shared, 40, a);
            assertEquals(0L, x.bitsByPart().get("codebook"));
            BitReport rep = BitReport.of(List.of(x, y), 100, 0, 64 * 64 + 32 * 64 + 100, -1);
            long xBits = 2048 * 8 + 64 * 16;
            long yBits = 1024 * 8 + 40 * 48 + 32 * 16;
            assertEquals(xBits + yBits + 256 * 2 * 16, rep.quantizedBits());
            assertEquals(256L * 2 * 16, rep.totalsByPart().get("codebook"));
            assertEquals((xBits + yBits + 8192 + 1600) / (6144.0 + 100), rep.paperBpp(), 1e-12);
            assertEquals(Double.NaN, rep.fileBpp());
        }
    }

    @Test
    void paperTableShapeForInt4() {
        // SmolLM2-1.7B: 24 blocks of q,k,v,o 2048², gate/up 8192x2048, down 2048x8192; tied 49152x2048 head.
        // The published INT4 RTN figure is 4.71 bits per parameter.
        // Accounting only reads shapes: the layers' segments are address-less placeholders of the
        // right sizes (never dereferenced) instead of 800 MB of real buffers.
        java.util.List<QuantizedLayer> layers = new java.util.ArrayList<>();
        for (int l = 0; l < 24; l++) {
            for (String n : new String[] {"q", "k", "v", "o"}) {
                layers.add(sizedOnly(l + n, 2048, 2048));
            }
            layers.add(sizedOnly(l + "gate", 8192, 2048));
            layers.add(sizedOnly(l + "up", 8192, 2048));
            layers.add(sizedOnly(l + "down", 2048, 8192));
        }
        BitReport rep = BitReport.of(layers, 0, 49152L * 2048, 0, -1);
        assertEquals(4.71, rep.paperBpp(), 0.005);
    }

    private static RtnLinear sizedOnly(String name, long rows, long cols) {
        return new RtnLinear(name, rows, cols, RtnParams.INT4_ROW,
                MemorySegment.NULL.reinterpret(BitPacker.packedBytes(rows * cols, 4) + 8),
                MemorySegment.NULL.reinterpret(rows * 2), null);
    }
}
