package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    /** A tensor of random bytes (never all zeros) in a heap segment. */
    static Tensor random(String name, DType dtype, Random rnd, long... shape) {
        byte[] b = new byte[(int) (Tensor.elementCount(shape) * dtype.bytes)];
        rnd.nextBytes(b);
        return new Tensor(name, dtype, shape, MemorySegment.ofArray(b));
    }

    static byte[] bytes(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void roundTripsEveryDtypeWithMetadata() throws IOException {
        Random rnd = new Random(7);
        List<Tensor> tensors = List.of(
                random("model.embed_tokens.weight", DType.BF16, rnd, 13, 7),
                random("a.f32", DType.F32, rnd, 3, 5, 2),
                random("b.f16", DType.F16, rnd, 11),
                random("scalar", DType.F64, rnd),
                random("ids", DType.I32, rnd, 9),
                random("big.ids", DType.I64, rnd, 2, 3),
                random("bytes", DType.U8, rnd, 5),
                random("signed", DType.I8, rnd, 1, 3),
                random("empty", DType.F32, rnd, 4, 0));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "ünïcödé \"quoted\"");
        Path out = dir.resolve("m.safetensors");
        SafetensorsWriter.write(out, tensors, meta);

        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(out), files.toList(), "no temporary file left behind");
        }
        byte[] raw = Files.readAllBytes(out);
        long headerLen = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + headerLen) % 8, "data section is 8-byte aligned");
        String header = new String(raw, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{"));
        assertTrue(header.stripTrailing().endsWith("}"), "padding is spaces only");

        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals(meta, f.metadata());
            assertEquals(tensors.stream().map(Tensor::name).toList(), f.names());
            for (Tensor t : tensors) {
                Tensor back = f.tensor(t.name());
                assertEquals(t.dtype(), back.dtype());
                assertArrayEquals(t.shape(), back.shape());
                assertArrayEquals(bytes(t), bytes(back), t.name());
                assertTrue(back.data().isMapped(), "tensors are slices of the mapping, not heap copies");
            }
        }
    }

    @Test
    void closedFileInvalidatesItsTensors() {
        Path out = dir.resolve("c.safetensors");
        SafetensorsWriter.write(out, List.of(random("w", DType.F32, new Random(1), 3, 3)), Map.of());
        Tensor t;
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            t = f.tensor("w");
            assertEquals(9 * 4, t.data().byteSize());
        }
        assertThrows(IllegalStateException.class, () -> t.data().get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void writerReplacesAnExistingFileAndReadsOffHeapSegments() {
        Path out = dir.resolve("r.safetensors");
        SafetensorsWriter.write(out, List.of(random("old", DType.F32, new Random(2), 2)), Map.of());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * 37);
            Random rnd = new Random(3);
            for (int i = 0; i < 37; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, rnd.nextFloat() - 0.5f);
            }
            Tensor t = new Tensor("new", DType.F32, new long[] {37}, seg);
            SafetensorsWriter.write(out, List.of(t), Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(out)) {
                assertEquals(List.of("new"), f.names());
                assertArrayEquals(bytes(t), bytes(f.tensor("new")));
                assertEquals(Map.of(), f.metadata());
            }
        }
    }

    // ---- malformed files: each must fail with one line naming the file ----

    /** Writes an 8-byte length, the header text and {@code dataLen} random bytes. */
    private Path raw(String header, int dataLen) throws IOException {
        return raw(header, header.getBytes(StandardCharsets.UTF_8).length, dataLen);
    }

    private Path raw(String header, long claimedLen, int dataLen) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataLen).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(claimedLen).put(h);
        byte[] data = new byte[dataLen];
        new Random(dataLen).nextBytes(data);
        b.put(data);
        Path p = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private static String failure(Path p) {
        JvqException e = assertThrows(JvqException.class, () -> SafetensorsFile.open(p).close());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        return e.getMessage().substring(p.toString().length() + 2);
    }

    @Test
    void unknownDtypeIsNamed() throws IOException {
        Path p = raw("{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        assertEquals("tensor 'x': unknown dtype 'F8_E4M3'", failure(p));
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        String h = "{\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
        assertTrue(failure(raw(h, 10_000, 2)).contains("runs past the end of the file"));
        assertTrue(failure(raw(h, -1L, 2)).contains("header length 18446744073709551615 runs past"));
    }

    @Test
    void tooShortAndEmptyAndNonJson() throws IOException {
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertTrue(failure(tiny).startsWith("too short"));
        assertTrue(failure(raw("", 0)).contains("does not start with '{'"));
        assertTrue(failure(raw("{\"x\": [1,", 0)).startsWith("malformed JSON header"));
        assertTrue(failure(raw("{} {}", 0)).startsWith("malformed JSON header"));
        assertTrue(failure(raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2)).startsWith("malformed JSON header"));
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12);
        assertEquals("tensor 'x': data_offsets [0,16] lie outside the 12-byte data section", failure(p));
        Path q = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 12);
        assertTrue(failure(q).contains("lie outside"));
        Path neg = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 12);
        assertTrue(failure(neg).contains("not non-negative integers"));
    }

    @Test
    void sizeMustMatchShapeTimesDtype() throws IOException {
        Path p = raw("{\"x\":{\"dtype\":\"BF16\",\"shape\":[3,5],\"data_offsets\":[0,32]}}", 32);
        assertEquals("tensor 'x': data_offsets [0,32] hold 32 bytes, but shape [3,5] of BF16 needs 30", failure(p));
        Path huge = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4);
        assertTrue(failure(huge).contains("too large"));
        Path neg = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
        assertTrue(failure(neg).contains("not a non-negative integer"));
    }

    @Test
    void overlapsHolesAndTrailingBytes() throws IOException {
        Path overlap = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertEquals("tensors 'a' and 'b' overlap in the data section", failure(overlap));
        Path hole = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
        assertTrue(failure(hole).startsWith("data bytes 4..8 belong to no tensor"));
        Path trailing = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 9);
        assertTrue(failure(trailing).startsWith("5 bytes after the last tensor"));
    }

    @Test
    void malformedEntriesAndMetadata() throws IOException {
        assertTrue(failure(raw("{\"x\":3}", 0)).contains("tensor 'x': header entry is not a JSON object"));
        assertTrue(failure(raw("{\"x\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4)).contains("'dtype'"));
        assertTrue(failure(raw("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4)).contains("'shape'"));
        assertTrue(failure(raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[]}}", 4)).contains("data_offsets"));
        assertTrue(failure(raw("{\"__metadata__\":{\"n\":3}}", 0)).contains("not a string"));
        assertTrue(failure(raw("{\"__metadata__\":[]}", 0)).contains("not a JSON object"));
    }

    @Test
    void missingTensorAndDirectoryAndMissingFile() throws IOException {
        Path out = dir.resolve("m.safetensors");
        SafetensorsWriter.write(out, List.of(random("w", DType.U8, new Random(5), 3)), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            JvqException e = assertThrows(JvqException.class, () -> f.tensor("model.norm.weight"));
            assertEquals(out + ": no tensor 'model.norm.weight'", e.getMessage());
        }
        assertTrue(failure(dir).contains("is a directory"));
        assertEquals("no such file", failure(dir.resolve("nope.safetensors")));
    }

    @Test
    void acceptsHeaderPaddedWithSpacesAndUnalignedData() throws IOException {
        // A header of odd length (unaligned tensors) followed by padding: both are legal.
        String h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ";
        Path p = raw(h, 8);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            byte[] all = Files.readAllBytes(p);
            assertArrayEquals(java.util.Arrays.copyOfRange(all, all.length - 8, all.length), bytes(f.tensor("x")));
        }
    }
}
