package dev.jvq.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.JvqException;
import dev.jvq.quant.BitPacker;
import dev.jvq.quant.BitReport;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.RtnLinear;
import dev.jvq.quant.VqLinear;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JvqFormatTest {

    @TempDir
    Path dir;

    @Test
    void roundTripKeepsEveryByte() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            JvqContents c = SampleContents.build(arena);
            Path f = dir.resolve("m.jvq");
            JvqWriter.write(f, c);
            try (JvqFile file = JvqReader.open(f)) {
                JvqContents r = file.contents();
                assertEquals(c.metadata(), r.metadata());
                assertEquals("llama2c", r.tokenizer().kind());
                assertSameBytes(c.tokenizer().bytes(), r.tokenizer().bytes());
                assertEquals(c.tensors().size(), r.tensors().size());
                for (int i = 0; i < c.tensors().size(); i++) {
                    Tensor a = c.tensors().get(i).tensor();
                    Tensor b = r.tensors().get(i).tensor();
                    assertEquals(a.toString(), b.toString());
                    assertEquals(c.tensors().get(i).role(), r.tensors().get(i).role());
                    assertSameBytes(a.data(), b.data());
                }
                assertEquals(c.layers().size(), r.layers().size());
                for (int i = 0; i < c.layers().size(); i++) {
                    assertSameLayer(c.layers().get(i), r.layers().get(i));
                }
                VqLinear gate = (VqLinear) r.layer("blk.0.ffn_gate");
                VqLinear up = (VqLinear) r.layer("blk.0.ffn_up");
                assertSame(gate.codebook(), up.codebook(), "a shared codebook is read once");
                assertEquals(1, r.sharedCodebooks().size());
                assertTrue(file.arena().scope().isAlive());
            }
        }
    }

    @Test
    void fileSizeIsThePartsPlusASmallHeader() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            JvqContents c = SampleContents.build(arena);
            Path f = dir.resolve("m.jvq");
            JvqWriter.write(f, c);
            long expectedPayload = SampleContents.tokenizerBytes().length;
            for (JvqContents.StoredTensor t : c.tensors()) {
                expectedPayload += t.tensor().data().byteSize();
            }
            expectedPayload += c.sharedCodebooks().get(0).data().byteSize();
            // every part in bits as the report counts it, rounded up to whole bytes per part
            BitReport rep = c.bitReport(-1);
            for (BitReport.Layer l : rep.layers()) {
                for (long bits : l.parts().values()) {
                    expectedPayload += (bits + 7) / 8;
                }
            }
            try (JvqFile file = JvqReader.open(f)) {
                assertEquals(Files.size(f), file.size());
                assertEquals(expectedPayload, file.sectionBytes());
                long sections = file.sectionCount();
                // tokenizer, 4 tensors, the shared codebook, RTN 2 + 3 (zeros), VQ 4 + 4 (shared codebook) + 5
                assertEquals(1 + 4 + 1 + 2 + 3 + 4 + 4 + 5, sections);
                long overhead = file.size() - file.sectionBytes() - file.headerBytes();
                // 64-byte preamble, < 64 bytes of alignment before each section and the header, and the
                // 8-byte zero tails after code streams
                assertTrue(overhead >= 64 && overhead < 64 + 64 * (sections + 1) + 8 * 5, "overhead " + overhead);
                assertEquals(file.size(), file.sectionBytes() + file.headerBytes() + file.overheadBytes());
                // the header is small next to the payload even for this toy model
                assertTrue(file.headerBytes() < 6000, "header " + file.headerBytes());
            }
        }
    }

    @Test
    void flippedByteInAnySectionNamesThatSection() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Path f = dir.resolve("m.jvq");
            JvqWriter.write(f, SampleContents.build(arena));
            byte[] clean = Files.readAllBytes(f);
            Map<String, long[]> sections = sectionsOf(clean);
            int tested = 0;
            for (Map.Entry<String, long[]> s : sections.entrySet()) {
                long off = s.getValue()[0];
                long len = s.getValue()[1];
                if (len == 0) {
                    continue;
                }
                byte[] bad = clean.clone();
                bad[(int) (off + len / 2)] ^= 0x10;
                Files.write(f, bad);
                JvqException e = assertThrows(JvqException.class, () -> JvqReader.open(f).close(), s.getKey());
                assertTrue(e.getMessage().startsWith(f.toString() + ": section '" + s.getKey() + "': checksum mismatch"),
                        e.getMessage());
                tested++;
            }
            assertTrue(tested >= 20, "sections tested: " + tested);
            // the header and the preamble have their own checksums
            byte[] bad = clean.clone();
            bad[bad.length - 10] ^= 1;
            Files.write(f, bad);
            assertMessage(f, "section 'header': checksum mismatch");
            bad = clean.clone();
            bad[20] ^= 1;
            Files.write(f, bad);
            assertMessage(f, "section 'preamble': checksum mismatch");
            // padding between sections is checked too
            bad = clean.clone();
            long[] tok = sections.get("tokenizer");
            bad[(int) (tok[0] + tok[1])] = 7;
            Files.write(f, bad);
            assertMessage(f, "padding after section 'tokenizer'");
        }
    }

    @Test
    void truncatedFilesAreRejected() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Path f = dir.resolve("m.jvq");
            JvqWriter.write(f, SampleContents.build(arena));
            byte[] clean = Files.readAllBytes(f);
            for (int len : new int[] {clean.length - 1, clean.length / 2, 100, 64}) {
                try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                    raf.setLength(len);
                }
                JvqException e = assertThrows(JvqException.class, () -> JvqReader.open(f).close());
                assertTrue(e.getMessage().startsWith(f + ": truncated: " + len + " of " + clean.length + " bytes; section 'header'"),
                        e.getMessage());
                Files.write(f, clean);
            }
            for (int len : new int[] {63, 0}) {
                Files.write(f, java.util.Arrays.copyOf(clean, len));
                assertMessage(f, "not a .jvq file: only " + len + " bytes");
            }
            Files.write(f, concat(clean, new byte[3]));
            assertMessage(f, "3 unexpected bytes after the end");
            Files.write(f, "definitely not a model file, but long enough to have a preamble...".getBytes());
            assertMessage(f, "not a .jvq file (bad magic)");
            assertMessage(dir.resolve("missing.jvq"), "no such file");
        }
    }

    @Test
    void contentsTheKernelsIndexWithAreValidated() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            VqLinear good = SampleContents.randomVq("l", 6, 10, SampleContents.randomCodebook(null, 5, 3, 1, arena), 3, 2,
                    arena);
            // descending sparse indices
            MemorySegment idx = arena.allocate(12);
            idx.setAtIndex(dev.jvq.quant.LittleEndian.I32, 0, 9);
            idx.setAtIndex(dev.jvq.quant.LittleEndian.I32, 1, 4);
            idx.setAtIndex(dev.jvq.quant.LittleEndian.I32, 2, 30);
            writeWith(new VqLinear("l", 6, 10, good.codebook(), good.bits(), good.codes(), good.rowScales(), 3, idx,
                    good.sparseValues()));
            assertMessage(dir.resolve("v.jvq"), "section 'layer l sparse index': entry 1 = 4 is not ascending");
            // an index outside the matrix
            idx.setAtIndex(dev.jvq.quant.LittleEndian.I32, 1, 20);
            idx.setAtIndex(dev.jvq.quant.LittleEndian.I32, 2, 60);
            writeWith(new VqLinear("l", 6, 10, good.codebook(), good.bits(), good.codes(), good.rowScales(), 3, idx,
                    good.sparseValues()));
            assertMessage(dir.resolve("v.jvq"), "entry 2 = 60 is outside the matrix");
            // a code beyond K = 5 (3-bit codes can say 7)
            MemorySegment codes = arena.allocate(good.codes().byteSize());
            int[] cs = BitPacker.unpack(good.codes(), 3, (int) good.vectors());
            cs[7] = 7;
            BitPacker.pack(cs, 3, codes);
            writeWith(new VqLinear("l", 6, 10, good.codebook(), good.bits(), codes, good.rowScales(), 3,
                    good.sparseIndex(), good.sparseValues()));
            assertMessage(dir.resolve("v.jvq"), "section 'layer l codes': code 7 = 7 is not below K = 5");
        }
    }

    @Test
    void writerNeverLeavesPartialFiles() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            JvqContents c = SampleContents.build(arena);
            Path missing = dir.resolve("no/such/dir/m.jvq");
            JvqException e = assertThrows(JvqException.class, () -> JvqWriter.write(missing, c));
            assertTrue(e.getMessage().contains("output directory") && e.getMessage().contains("does not exist"),
                    e.getMessage());

            Path f = dir.resolve("m.jvq");
            JvqWriter.write(f, c);
            byte[] before = Files.readAllBytes(f);
            // a writer abandoned midway (an exception in the caller) leaves the old file and no temp file
            try (JvqWriter w = JvqWriter.open(f)) {
                w.tensor(c.tensors().get(0).tensor(), TensorRole.EMBEDDING);
                w.layer(c.layers().get(0));
            }
            assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(f)));
            try (var s = Files.list(dir)) {
                assertEquals(List.of(f), s.toList());
            }
            // a duplicate name is a programming error caught before anything is committed
            try (JvqWriter w = JvqWriter.open(dir.resolve("n.jvq"))) {
                w.layer(c.layers().get(0));
                assertThrows(IllegalArgumentException.class, () -> w.layer(c.layers().get(0)));
            }
            assertFalse(Files.exists(dir.resolve("n.jvq")));
        }
    }

    // ---- helpers ----

    private void writeWith(QuantizedLayer layer) {
        try (JvqWriter w = JvqWriter.open(dir.resolve("v.jvq"))) {
            w.layer(layer);
            w.commit();
        }
    }

    private static void assertMessage(Path f, String expected) {
        JvqException e = assertThrows(JvqException.class, () -> JvqReader.open(f).close());
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    private static void assertSameBytes(MemorySegment a, MemorySegment b) {
        assertEquals(a.byteSize(), b.byteSize());
        assertEquals(-1, a.mismatch(b));
    }

    private static void assertSameLayer(QuantizedLayer a, QuantizedLayer b) {
        assertEquals(a.name(), b.name());
        assertEquals(a.rows(), b.rows());
        assertEquals(a.cols(), b.cols());
        assertEquals(a.bitsByPart(), b.bitsByPart());
        if (a instanceof VqLinear x) {
            VqLinear y = assertInstanceOf(VqLinear.class, b);
            assertEquals(x.bits(), y.bits());
            assertEquals(x.nnz(), y.nnz());
            assertEquals(x.codebook().name(), y.codebook().name());
            assertSameBytes(x.codebook().data(), y.codebook().data());
            assertSameBytes(x.codes().asSlice(0, x.codeBytes() + 8), y.codes().asSlice(0, x.codeBytes() + 8));
            assertSameBytes(x.rowScales(), y.rowScales());
            assertSameBytes(x.sparseIndex(), y.sparseIndex());
            assertSameBytes(x.sparseValues(), y.sparseValues());
        } else {
            RtnLinear x = (RtnLinear) a;
            RtnLinear y = assertInstanceOf(RtnLinear.class, b);
            assertEquals(x.params(), y.params());
            assertSameBytes(x.codes().asSlice(0, x.codeBytes() + 8), y.codes().asSlice(0, x.codeBytes() + 8));
            assertSameBytes(x.scales(), y.scales());
            if (x.zeros() != null) {
                assertSameBytes(x.zeros(), y.zeros());
            }
        }
    }

    /** Section label → {offset, length}, read from the file's own header. */
    static Map<String, long[]> sectionsOf(byte[] file) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int off = (int) bb.getLong(16);
        int len = (int) bb.getLong(24);
        JsonNode h = new ObjectMapper().readTree(java.util.Arrays.copyOfRange(file, off, off + len));
        Map<String, long[]> out = new java.util.LinkedHashMap<>();
        put(out, "tokenizer", h.get("tokenizer").get("section"));
        for (JsonNode t : h.get("tensors")) {
            put(out, "tensor " + t.get("name").asText(), t.get("section"));
        }
        for (JsonNode c : h.get("codebooks")) {
            put(out, "codebook " + c.get("name").asText(), c.get("section"));
        }
        Map<String, String> labels = Map.of("codebookSection", "codebook", "codes", "codes", "rowScales", "row scales",
                "sparseIndex", "sparse index", "sparseValues", "sparse values", "scales", "scales", "zeros", "zeros");
        for (JsonNode l : h.get("layers")) {
            List<String> fields = new ArrayList<>();
            for (Iterator<String> it = l.fieldNames(); it.hasNext(); ) {
                fields.add(it.next());
            }
            for (String field : fields) {
                if (labels.containsKey(field)) {
                    put(out, "layer " + l.get("name").asText() + " " + labels.get(field), l.get(field));
                }
            }
        }
        return out;
    }

    private static void put(Map<String, long[]> out, String label, JsonNode s) {
        out.put(label, new long[] {s.get("offset").asLong(), s.get("length").asLong()});
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
