package dev.jvq.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.CpuBackend;
import dev.jvq.quant.BitPacker;
import dev.jvq.quant.BitReport;
import dev.jvq.quant.Codebook;
import dev.jvq.quant.PqGroup;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.RsavqLayers;
import dev.jvq.quant.RsavqLinear;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RSAVQ layers through a .jvq file: exact round trip, bit accounting, kernels on the mapped file, corruption. */
class RsavqFileTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Three layers: private codebooks with mixed widths and row scales; two sharing one codebook "pq". */
    private static List<QuantizedLayer> layers(Arena arena) {
        Random rnd = new Random(3);
        RsavqLinear a = RsavqLayers.random(rnd, arena, "blk.0.q", 67, 45, 3, 2, RsavqLayers.split(45, 4),
                new int[] {6, 9, 12, 3}, true, null);
        RsavqLinear b0 = RsavqLayers.random(rnd, arena, "blk.0.k", 130, 77, 2, 1, RsavqLayers.split(77, 2),
                new int[] {5, 5}, false, "pq");
        Codebook shared = b0.groups().get(0).codebook();
        RsavqLinear b = withCodebook(b0, shared);
        RsavqLinear c = withCodebook(RsavqLayers.random(rnd, arena, "blk.0.v", 31, 20, 2, 1, new int[] {20},
                new int[] {5}, true, "pq"), shared);
        return List.of(a, b, c);
    }

    private static RsavqLinear withCodebook(RsavqLinear l, Codebook cb) {
        List<PqGroup> gs = new ArrayList<>();
        for (PqGroup g : l.groups()) {
            gs.add(new PqGroup(g.colStart(), g.colCount(), g.bits(), g.k(), cb, g.codes()));
        }
        return new RsavqLinear(l.name(), l.rows(), l.cols(), l.subLength(), l.subspaces(), l.permutation(), gs,
                l.rowScales());
    }

    private Path write(List<QuantizedLayer> layers) {
        Path f = dir.resolve("r.jvq");
        JvqWriter.write(f, new JvqContents(JsonNodeFactory.instance.objectNode(), null, List.of(), layers));
        return f;
    }

    @Test
    void roundTripIsExactAndBitsAreAccounted() {
        try (Arena arena = Arena.ofConfined(); CpuBackend cpu = new CpuBackend()) {
            List<QuantizedLayer> layers = layers(arena);
            Path f = write(layers);
            JvqContents orig = new JvqContents(null, null, List.of(), layers);
            try (JvqFile file = JvqReader.open(f)) {
                JvqContents back = file.contents();
                assertEquals(3, back.layers().size());
                for (QuantizedLayer l : layers) {
                    RsavqLinear want = (RsavqLinear) l;
                    RsavqLinear got = (RsavqLinear) back.layer(l.name());
                    assertArrayEquals(want.dequantizeInJava(), got.dequantizeInJava(), l.name());
                    assertEquals(want.bitsByPart(), got.bitsByPart(), l.name());
                    assertEquals(want.method(), got.method());
                    // the fused kernel runs on the mapped sections
                    MemorySegment x = arena.allocate(4 * l.cols());
                    for (long j = 0; j < l.cols(); j++) {
                        x.setAtIndex(ValueLayout.JAVA_FLOAT, j, (float) Math.sin(j + 1));
                    }
                    MemorySegment y1 = arena.allocate(4 * l.rows()), y2 = arena.allocate(4 * l.rows());
                    want.gemv(cpu, x, y1);
                    got.gemv(cpu, x, y2);
                    assertArrayEquals(y1.toArray(ValueLayout.JAVA_FLOAT), y2.toArray(ValueLayout.JAVA_FLOAT));
                }
                // exact bit accounting: indices, permutation at ceil(log2 cols) bits, codebooks, scales
                RsavqLinear a = (RsavqLinear) layers.get(0);
                long idx = 0, cb = 0;
                for (PqGroup g : a.groups()) {
                    idx += (long) g.colCount() * Math.ceilDiv(67, 3) * g.bits();
                    cb += 2L * g.k() * 3 * 16;
                }
                assertEquals(idx, a.bitsByPart().get("indices"));
                assertEquals(cb, a.bitsByPart().get("codebook"));
                assertEquals(45L * 6, a.bitsByPart().get("permutation"));
                assertEquals(67L * 16, a.bitsByPart().get("scales"));
                // the shared codebook is written once and counted once
                assertEquals(1, back.sharedCodebooks().size());
                BitReport ro = orig.bitReport(-1), rb = back.bitReport(file.size());
                assertEquals(ro.quantizedBits(), rb.quantizedBits());
                assertEquals(32L * 2 * 16, rb.sharedCodebookBits().get("pq"));
                assertEquals(0L, back.layer("blk.0.k").bitsByPart().get("codebook"));
            }
        }
    }

    @Test
    void corruptFieldsAreOneLineErrors() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            Path f = write(layers(arena));
            byte[] clean = Files.readAllBytes(f);
            expect(f, clean, h -> layer(h, 0).put("subLength", 4), "expected");
            expect(f, clean, h -> layer(h, 0).put("permutationBits", 7), "permutationBits 7, expected 6");
            expect(f, clean, h -> group(h, 0, 1).put("colStart", 3), "starts at column 3");
            expect(f, clean, h -> ((ArrayNode) layer(h, 0).get("groups")).remove(3), "groups cover");
            expect(f, clean, h -> group(h, 0, 0).put("bits", 0), "field 'bits' is 0");
            expect(f, clean, h -> group(h, 0, 2).put("k", 5000), "field 'k' is 5000");
            expect(f, clean, h -> group(h, 1, 0).put("codebook", "nope"), "unknown shared codebook");
            expect(f, clean, h -> group(h, 0, 0).remove("codes"), "codes': missing");
            expect(f, clean, h -> layer(h, 0).remove("groups"), "'groups' is not a non-empty array");
            expect(f, clean, h -> layer(h, 1).put("subspaces", 2), "shared codebook 'pq' is 32 x 2, group expects 64 x 2");
        }
    }

    @Test
    void aRepeatedPermutationEntryIsRefused() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            Path f = write(layers(arena));
            byte[] clean = Files.readAllBytes(f);
            ObjectNode h = header(clean);
            ObjectNode sec = (ObjectNode) layer(h, 0).get("permutation");
            int off = sec.get("offset").asInt(), len = sec.get("length").asInt();
            byte[] bytes = clean.clone();
            MemorySegment s = MemorySegment.ofArray(bytes).asSlice(off, len + BitPacker.TAIL_BYTES);
            int[] p = BitPacker.unpack(s, 6, 45);
            p[1] = p[0];
            BitPacker.pack(p, 6, s);
            CRC32C crc = new CRC32C();
            crc.update(bytes, off, len);
            sec.put("crc32c", crc.getValue());
            Files.write(f, withHeader(bytes, h));
            assertMessage(f, "section 'layer blk.0.q permutation': entry 1 = " + p[0] + " repeats an earlier entry");
        }
    }

    private static ObjectNode layer(ObjectNode h, int i) {
        return (ObjectNode) h.get("layers").get(i);
    }

    private static ObjectNode group(ObjectNode h, int layer, int g) {
        return (ObjectNode) ((ArrayNode) layer(h, layer).get("groups")).get(g);
    }

    private void expect(Path f, byte[] clean, Consumer<ObjectNode> edit, String message) throws Exception {
        ObjectNode h = header(clean);
        edit.accept(h);
        Files.write(f, withHeader(clean, h));
        assertMessage(f, message);
    }

    private static ObjectNode header(byte[] file) throws Exception {
        ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int off = (int) bb.getLong(JvqLayout.OFF_HEADER_OFFSET), len = (int) bb.getLong(JvqLayout.OFF_HEADER_LENGTH);
        return (ObjectNode) JSON.readTree(new String(file, off, len, java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The file with its header replaced by {@code h} and the preamble's length and checksums redone. */
    private static byte[] withHeader(byte[] file, ObjectNode h) throws Exception {
        ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int off = (int) bb.getLong(JvqLayout.OFF_HEADER_OFFSET);
        byte[] json = JSON.writeValueAsBytes(h);
        byte[] out = new byte[off + json.length];
        System.arraycopy(file, 0, out, 0, off);
        System.arraycopy(json, 0, out, off, json.length);
        ByteBuffer o = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C crc = new CRC32C();
        crc.update(json);
        o.putLong(JvqLayout.OFF_HEADER_LENGTH, json.length);
        o.putInt(JvqLayout.OFF_HEADER_CRC, (int) crc.getValue());
        o.putLong(JvqLayout.OFF_FILE_LENGTH, out.length);
        CRC32C p = new CRC32C();
        p.update(out, 0, JvqLayout.OFF_PREAMBLE_CRC);
        o.putInt(JvqLayout.OFF_PREAMBLE_CRC, (int) p.getValue());
        return out;
    }

    private static void assertMessage(Path f, String expected) {
        JvqException e = assertThrows(JvqException.class, () -> JvqReader.open(f).close());
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }
}
