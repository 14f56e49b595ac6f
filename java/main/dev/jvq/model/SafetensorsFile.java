package dev.jvq.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.JvqException;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped {@code .safetensors} file: an 8-byte little-endian header length N, N bytes of
 * JSON ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}}),
 * then the tensor bytes, offsets relative to the end of the header. The whole file is mapped once
 * into a shared arena owned by this object; tensors are slices of the mapping, never heap copies,
 * and stay valid until {@link #close()}.
 *
 * <p>Everything the header claims is checked before any tensor is handed out: that the header
 * fits in the file, each dtype and shape, that every tensor's byte range lies inside the data and
 * has exactly shape × element-size bytes, and that the ranges neither overlap nor leave holes (the
 * format requires the data to be fully indexed). Any violation is one line naming the file.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The reference implementation refuses headers above 100 MB; so do we (before allocating). */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** What the header says about one tensor; offsets are absolute within the file. */
    public record Entry(String name, DType dtype, long[] shape, long fileOffset, long byteSize) {
        public Entry {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment map;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment map, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.map = map;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps and validates {@code path}. */
    public static SafetensorsFile open(Path path) {
        long size;
        try {
            if (Files.isDirectory(path)) {
                throw JvqException.badFile(path, "is a directory, not a .safetensors file");
            }
            size = Files.size(path);
        } catch (NoSuchFileException e) {
            throw JvqException.badFile(path, "no such file");
        } catch (IOException e) {
            throw JvqException.badFile(path, "cannot read: " + e.getMessage());
        }
        if (size < 8) {
            throw JvqException.badFile(path, "too short for a safetensors file (" + size + " bytes, the header length"
                    + " alone takes 8)");
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment map;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            }
            long headerLen = map.get(U64, 0);
            // Unsigned comparisons: a length with the top bit set is simply too large.
            if (Long.compareUnsigned(headerLen, size - 8) > 0) {
                throw JvqException.badFile(path, "header length " + Long.toUnsignedString(headerLen)
                        + " runs past the end of the file (" + size + " bytes)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw JvqException.badFile(path, "header length " + headerLen + " exceeds the "
                        + MAX_HEADER_BYTES + "-byte limit");
            }
            byte[] header = map.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            long dataStart = 8 + headerLen;
            Parsed parsed = parseHeader(path, header, dataStart, size - dataStart);
            return new SafetensorsFile(path, arena, map, parsed.entries, parsed.metadata);
        } catch (IOException e) {
            arena.close();
            throw JvqException.badFile(path, "cannot map: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private record Parsed(Map<String, Entry> entries, Map<String, String> metadata) {}

    private static Parsed parseHeader(Path path, byte[] header, long dataStart, long dataLen) {
        if (header.length == 0 || header[0] != '{') {
            throw JvqException.badFile(path, "header does not start with '{' (not a safetensors file?)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw JvqException.badFile(path, "malformed JSON header: " + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw JvqException.badFile(path, "malformed JSON header: " + oneLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw JvqException.badFile(path, "header is not a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(path, field.getValue());
            } else {
                Entry e = parseEntry(path, field.getKey(), field.getValue(), dataStart, dataLen);
                entries.put(e.name(), e);
            }
        }
        checkCoverage(path, entries, dataStart, dataLen);
        return new Parsed(Collections.unmodifiableMap(entries), metadata);
    }

    private static Map<String, String> parseMetadata(Path path, JsonNode node) {
        if (node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw JvqException.badFile(path, METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual()) {
                throw JvqException.badFile(path, METADATA_KEY + ": value of '" + f.getKey()
                        + "' is not a string (the format allows only string metadata)");
            }
            m.put(f.getKey(), f.getValue().textValue());
        }
        return Collections.unmodifiableMap(m);
    }

    private static Entry parseEntry(Path path, String name, JsonNode node, long dataStart, long dataLen) {
        String where = "tensor '" + name + "': ";
        if (!node.isObject()) {
            throw JvqException.badFile(path, where + "header entry is not a JSON object");
        }
        JsonNode dt = node.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw JvqException.badFile(path, where + "missing or non-string 'dtype'");
        }
        DType dtype = SafetensorsDTypes.fromName(dt.textValue());
        if (dtype == null) {
            throw JvqException.badFile(path, where + "unknown dtype '" + dt.textValue() + "'");
        }
        JsonNode sh = node.get("shape");
        if (sh == null || !sh.isArray()) {
            throw JvqException.badFile(path, where + "missing or non-array 'shape'");
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.asLong() < 0) {
                throw JvqException.badFile(path, where + "shape " + sh + " has an entry that is not a non-negative"
                        + " integer");
            }
            shape[i] = d.asLong();
        }
        JsonNode off = node.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) {
            throw JvqException.badFile(path, where + "'data_offsets' must be an array [begin, end]");
        }
        long[] be = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode d = off.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.asLong() < 0) {
                throw JvqException.badFile(path, where + "data_offsets " + off + " are not non-negative integers");
            }
            be[i] = d.asLong();
        }
        if (be[0] > be[1] || be[1] > dataLen) {
            throw JvqException.badFile(path, where + "data_offsets " + off + " lie outside the " + dataLen
                    + "-byte data section");
        }
        long need;
        try {
            need = Math.multiplyExact(Tensor.elementCount(shape), dtype.bytes);
        } catch (ArithmeticException e) {
            throw JvqException.badFile(path, where + "shape " + sh + " is too large");
        }
        if (be[1] - be[0] != need) {
            throw JvqException.badFile(path, where + "data_offsets " + off + " hold " + (be[1] - be[0])
                    + " bytes, but shape " + sh + " of " + dt.textValue() + " needs " + need);
        }
        return new Entry(name, dtype, shape, dataStart + be[0], need);
    }

    /** The tensors must tile the data section exactly: no overlaps, no holes, nothing left over. */
    private static void checkCoverage(Path path, Map<String, Entry> entries, long dataStart, long dataLen) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::fileOffset).thenComparingLong(Entry::byteSize));
        long pos = dataStart;
        Entry prev = null;
        for (Entry e : sorted) {
            if (e.fileOffset() < pos) {
                throw JvqException.badFile(path, "tensors '" + prev.name() + "' and '" + e.name()
                        + "' overlap in the data section");
            }
            if (e.fileOffset() > pos) {
                throw JvqException.badFile(path, "data bytes " + (pos - dataStart) + ".." + (e.fileOffset() - dataStart)
                        + " belong to no tensor (the format requires the data to be fully indexed)");
            }
            pos = e.fileOffset() + e.byteSize();
            if (e.byteSize() > 0) {
                prev = e;
            }
        }
        if (pos != dataStart + dataLen) {
            throw JvqException.badFile(path, (dataStart + dataLen - pos) + " bytes after the last tensor belong to"
                    + " no tensor (truncated header or trailing garbage)");
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }

    public Path path() {
        return path;
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** The header entry of {@code name}; one line naming the file when there is none. */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw JvqException.badFile(path, "no tensor '" + name + "'");
        }
        return e;
    }

    /** The tensor {@code name} as a slice of the mapping (valid until {@link #close()}). */
    public Tensor tensor(String name) {
        Entry e = entry(name);
        return new Tensor(name, e.dtype(), e.shape(), map.asSlice(e.fileOffset(), e.byteSize()));
    }

    /** The string-to-string {@code __metadata__} of the header (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Releases the mapping; tensors obtained from this file must not be used afterwards. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile(" + path + ", " + entries.size() + " tensors)";
    }
}
