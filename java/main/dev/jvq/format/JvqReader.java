package dev.jvq.format;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.quant.BitPacker;
import dev.jvq.quant.Codebook;
import dev.jvq.quant.LittleEndian;
import dev.jvq.quant.PqGroup;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.RsavqLinear;
import dev.jvq.quant.RtnLinear;
import dev.jvq.quant.RtnParams;
import dev.jvq.quant.VqLinear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Opens a .jvq file (FORMAT.md) by memory-mapping it and checking, before anything is used, every
 * offset, length and checksum, that sections neither overlap nor leave non-zero bytes between them,
 * and the contents the kernels index with (sparse indices in range and ascending, codes below K).
 * Any problem is one {@link JvqException} line naming the file and the section.
 */
public final class JvqReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 30;

    private final Path path;
    private final MemorySegment file;
    private long dataEnd; // the header's offset: sections must end before it
    private final List<long[]> extents = new ArrayList<>(); // {offset, end}
    private final List<String> extentLabels = new ArrayList<>();
    private long sectionBytes;

    private JvqReader(Path path, MemorySegment file) {
        this.path = path;
        this.file = file;
    }

    /** Maps and validates {@code path}. */
    public static JvqFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            long size;
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                size = ch.size();
                if (size < JvqLayout.PREAMBLE_BYTES) {
                    throw JvqException.badFile(path, "not a .jvq file: only " + size + " bytes (truncated?)");
                }
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (NoSuchFileException e) {
                throw JvqException.badFile(path, "no such file");
            } catch (IOException e) {
                throw JvqException.badFile(path, "cannot read: " + e.getMessage());
            }
            JvqReader r = new JvqReader(path, seg);
            return r.read(arena, size);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private JvqFile read(Arena arena, long size) {
        // ---- preamble ----
        byte[] magic = file.asSlice(0, JvqLayout.MAGIC.length).toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(magic, JvqLayout.MAGIC)) {
            throw bad("not a .jvq file (bad magic)");
        }
        CRC32C pcrc = new CRC32C();
        pcrc.update(file.asSlice(0, JvqLayout.OFF_PREAMBLE_CRC).asByteBuffer());
        if ((int) pcrc.getValue() != file.get(LittleEndian.I32, JvqLayout.OFF_PREAMBLE_CRC)) {
            throw bad("section 'preamble': checksum mismatch (corrupted)");
        }
        int version = file.get(LittleEndian.I32, JvqLayout.OFF_VERSION);
        if (version != JvqLayout.VERSION) {
            throw bad("format version " + version + " is not supported (this build reads version " + JvqLayout.VERSION + ")");
        }
        long fileLength = file.get(LittleEndian.I64, JvqLayout.OFF_FILE_LENGTH);
        long headerOffset = file.get(LittleEndian.I64, JvqLayout.OFF_HEADER_OFFSET);
        long headerLength = file.get(LittleEndian.I64, JvqLayout.OFF_HEADER_LENGTH);
        if (size < fileLength) {
            throw bad("truncated: " + size + " of " + fileLength + " bytes; section 'header' at offset " + headerOffset
                    + " is " + (headerOffset >= size ? "missing" : "cut off"));
        }
        if (size > fileLength) {
            throw bad(size - fileLength + " unexpected bytes after the end of the file (" + fileLength + " bytes)");
        }
        if (headerOffset < JvqLayout.PREAMBLE_BYTES || headerOffset % JvqLayout.ALIGN != 0 || headerLength < 2
                || headerLength > fileLength - headerOffset || headerOffset + headerLength != fileLength) {
            throw bad("section 'header': offset " + headerOffset + " / length " + headerLength
                    + " do not fit a file of " + fileLength + " bytes");
        }
        MemorySegment headerBytes = file.asSlice(headerOffset, headerLength);
        if (crc(headerBytes) != (file.get(LittleEndian.I32, JvqLayout.OFF_HEADER_CRC) & 0xFFFFFFFFL)) {
            throw bad("section 'header': checksum mismatch (corrupted)");
        }
        dataEnd = headerOffset;
        JsonNode header;
        try {
            header = JSON.readTree(headerBytes.toArray(ValueLayout.JAVA_BYTE));
        } catch (JacksonException e) {
            throw bad("section 'header': not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw bad("section 'header': unreadable (" + e.getMessage() + ")");
        }
        if (!(header instanceof ObjectNode)) {
            throw bad("section 'header': expected a JSON object");
        }

        // ---- parts ----
        JsonNode metaNode = header.get("metadata");
        ObjectNode metadata = metaNode instanceof ObjectNode o ? o : null;
        if (metadata == null) {
            throw bad("section 'header': 'metadata' is not an object");
        }
        JvqContents.TokenizerBlob tokenizer = null;
        JsonNode tok = header.get("tokenizer");
        if (tok != null && !tok.isNull()) {
            String kind = text(tok, "kind", "tokenizer");
            tokenizer = new JvqContents.TokenizerBlob(kind, section(tok.get("section"), "tokenizer", -1, 0));
        }
        List<JvqContents.StoredTensor> tensors = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonNode t : array(header, "tensors")) {
            tensors.add(tensor(t, names));
        }
        Map<String, Codebook> codebooks = new HashMap<>();
        for (JsonNode c : array(header, "codebooks")) {
            String name = text(c, "name", "codebook");
            String ctx = "codebook " + name;
            int k = intIn(c, "k", ctx, 2, 1 << BitPacker.MAX_BITS);
            int b = intIn(c, "b", ctx, 1, Integer.MAX_VALUE / 2);
            MemorySegment data = section(c.get("section"), ctx, (long) k * b * 2, 0);
            if (codebooks.put(name, new Codebook(name, k, b, data)) != null) {
                throw bad("section 'header': duplicate codebook '" + name + "'");
            }
        }
        List<QuantizedLayer> layers = new ArrayList<>();
        Set<String> layerNames = new HashSet<>();
        for (JsonNode l : array(header, "layers")) {
            QuantizedLayer q = layer(l, codebooks, arena);
            if (!layerNames.add(q.name())) {
                throw bad("section 'header': duplicate layer '" + q.name() + "'");
            }
            layers.add(q);
        }
        checkExtents();
        JvqContents contents = new JvqContents(metadata, tokenizer, tensors, layers);
        return new JvqFile(path, size, contents, extents.size(), sectionBytes, headerLength, arena);
    }

    private JvqContents.StoredTensor tensor(JsonNode t, Set<String> names) {
        String name = text(t, "name", "tensor");
        String ctx = "tensor " + name;
        if (!names.add(name)) {
            throw bad("section 'header': duplicate tensor '" + name + "'");
        }
        TensorRole role = TensorRole.ofLabel(text(t, "role", ctx));
        if (role == null) {
            throw bad("section 'header': " + ctx + ": unknown role '" + t.get("role").asText() + "'");
        }
        DType dtype;
        try {
            dtype = DType.valueOf(text(t, "dtype", ctx));
        } catch (IllegalArgumentException e) {
            throw bad("section 'header': " + ctx + ": unknown dtype '" + t.get("dtype").asText() + "'");
        }
        JsonNode shapeNode = t.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw bad("section 'header': " + ctx + ": missing 'shape'");
        }
        long[] shape = new long[shapeNode.size()];
        long bytes = dtype.bytes;
        try {
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = shapeNode.get(i);
                if (!d.canConvertToLong() || d.asLong() < 0) {
                    throw bad("section 'header': " + ctx + ": bad dimension " + d);
                }
                shape[i] = d.asLong();
                bytes = Math.multiplyExact(bytes, shape[i]);
            }
        } catch (ArithmeticException e) {
            throw bad("section 'header': " + ctx + ": shape " + shapeNode + " is too large");
        }
        MemorySegment data = section(t.get("section"), ctx, bytes, 0);
        return new JvqContents.StoredTensor(new Tensor(name, dtype, shape, data), role);
    }

    private QuantizedLayer layer(JsonNode l, Map<String, Codebook> codebooks, Arena arena) {
        String name = text(l, "name", "layer");
        String ctx = "layer " + name;
        long rows = longIn(l, "rows", ctx, 1, Integer.MAX_VALUE);
        long cols = longIn(l, "cols", ctx, 1, Integer.MAX_VALUE);
        if (rows * cols > Integer.MAX_VALUE) {
            throw bad("section 'header': " + ctx + ": " + rows + " x " + cols + " exceeds int32 flat indices");
        }
        String type = text(l, "type", ctx);
        switch (type) {
            case JvqLayout.TYPE_HASVQ -> {
                int b = intIn(l, "b", ctx, 1, Integer.MAX_VALUE / 2);
                int k = intIn(l, "k", ctx, 2, 1 << BitPacker.MAX_BITS);
                int bits = intIn(l, "bits", ctx, 1, BitPacker.MAX_BITS);
                if (bits != BitPacker.bitsFor(k)) {
                    throw bad("section 'header': " + ctx + ": " + bits + "-bit codes for K = " + k);
                }
                long nnz = longIn(l, "nnz", ctx, 0, rows * cols);
                Codebook cb;
                JsonNode shared = l.get("codebook");
                if (shared != null) {
                    cb = codebooks.get(shared.asText());
                    if (cb == null || !shared.isTextual()) {
                        throw bad("section 'header': " + ctx + ": unknown shared codebook " + shared);
                    }
                    if (cb.k() != k || cb.b() != b) {
                        throw bad("section 'header': " + ctx + ": shared codebook '" + cb.name() + "' is " + cb.k() + " x "
                                + cb.b() + ", layer expects " + k + " x " + b);
                    }
                } else {
                    cb = new Codebook(null, k, b, section(l.get("codebookSection"), ctx + " codebook", (long) k * b * 2, 0));
                }
                long m = VqLinear.vectors(rows, cols, b);
                String codesLabel = ctx + " codes";
                MemorySegment codes = section(l.get("codes"), codesLabel, BitPacker.packedBytes(m, bits),
                        BitPacker.TAIL_BYTES);
                if (k < (1 << bits)) {
                    checkCodesBelow(codes, bits, m, k, codesLabel);
                }
                MemorySegment scales = section(l.get("rowScales"), ctx + " row scales", rows * 2, 0);
                String idxLabel = ctx + " sparse index";
                MemorySegment idx = section(l.get("sparseIndex"), idxLabel, nnz * 4, 0);
                checkSparseIndex(idx, nnz, rows * cols, idxLabel);
                MemorySegment val = section(l.get("sparseValues"), ctx + " sparse values", nnz * 2, 0);
                return new VqLinear(name, rows, cols, cb, bits, codes, scales, nnz, idx, val);
            }
            case JvqLayout.TYPE_RTN -> {
                RtnParams p;
                try {
                    p = new RtnParams(intIn(l, "bits", ctx, 0, 64), intIn(l, "group", ctx, 0, Integer.MAX_VALUE),
                            bool(l, "symmetric", ctx));
                } catch (JvqException e) {
                    throw bad("section 'header': " + ctx + ": " + e.getMessage());
                }
                long groups = rows * p.groupsPerRow(cols);
                MemorySegment codes = section(l.get("codes"), ctx + " codes", BitPacker.packedBytes(rows * cols, p.bits()),
                        BitPacker.TAIL_BYTES);
                MemorySegment scales = section(l.get("scales"), ctx + " scales", groups * 2, 0);
                MemorySegment zeros = null;
                if (!p.symmetric()) {
                    zeros = section(l.get("zeros"), ctx + " zeros", groups * 2, 0);
                } else if (l.has("zeros")) {
                    throw bad("section 'header': " + ctx + ": symmetric RTN layer with zero points");
                }
                return new RtnLinear(name, rows, cols, p, codes, scales, zeros);
            }
            case JvqLayout.TYPE_RSAVQ -> {
                return rsavq(l, name, ctx, rows, cols, codebooks, arena);
            }
            default -> throw bad("section 'header': " + ctx + ": unknown layer type '" + type + "'");
        }
    }

    /**
     * An RSAVQ layer: the packed permutation is widened into an int32 segment of the file's arena (the
     * kernels index x with it, so every entry is checked and the entries must be distinct), each group's
     * codes and codebook are sized from its width, k and the layer's sub-vector shape, and groups must
     * tile the columns in order.
     */
    private QuantizedLayer rsavq(JsonNode l, String name, String ctx, long rows, long cols,
            Map<String, Codebook> codebooks, Arena arena) {
        int subLength = intIn(l, "subLength", ctx, 1, 1 << 16);
        int subspaces = intIn(l, "subspaces", ctx, 1, 1 << 16);
        int pbits = cols < 2 ? 1 : BitPacker.bitsFor(cols);
        if (pbits > BitPacker.MAX_BITS) {
            throw bad("section 'header': " + ctx + ": " + cols + " columns need " + pbits
                    + "-bit permutation entries, more than " + BitPacker.MAX_BITS);
        }
        int storedBits = intIn(l, "permutationBits", ctx, 1, BitPacker.MAX_BITS);
        if (storedBits != pbits) {
            throw bad("section 'header': " + ctx + ": permutationBits " + storedBits + ", expected " + pbits + " for "
                    + cols + " columns");
        }
        String permLabel = ctx + " permutation";
        MemorySegment packed = section(l.get("permutation"), permLabel, BitPacker.packedBytes(cols, pbits), 0);
        MemorySegment perm = arena.allocate(cols * 4, 4);
        boolean[] seen = new boolean[(int) cols];
        BitPacker.Reader pr = new BitPacker.Reader(packed, pbits, 0);
        for (long j = 0; j < cols; j++) {
            int p = pr.next();
            if (p >= cols || seen[p]) {
                throw bad("section '" + permLabel + "': entry " + j + " = " + p
                        + (p >= cols ? " is not a column" : " repeats an earlier entry"));
            }
            seen[p] = true;
            perm.setAtIndex(LittleEndian.I32, j, p);
        }
        long t = PqGroup.subVectors(rows, subLength);
        JsonNode groupsNode = l.get("groups");
        if (groupsNode == null || !groupsNode.isArray() || groupsNode.isEmpty()) {
            throw bad("section 'header': " + ctx + ": 'groups' is not a non-empty array");
        }
        List<PqGroup> groups = new ArrayList<>();
        long next = 0;
        for (int gi = 0; gi < groupsNode.size(); gi++) {
            JsonNode g = groupsNode.get(gi);
            String gctx = ctx + " group " + gi;
            if (!g.isObject()) {
                throw bad("section 'header': " + gctx + ": not an object");
            }
            int colStart = intIn(g, "colStart", gctx, 0, Integer.MAX_VALUE);
            if (colStart != next) {
                throw bad("section 'header': " + gctx + ": starts at column " + colStart + ", expected " + next);
            }
            int colCount = intIn(g, "colCount", gctx, 1, (int) (cols - next));
            int bits = intIn(g, "bits", gctx, 1, BitPacker.MAX_BITS);
            int k = intIn(g, "k", gctx, 2, 1 << bits);
            long entries = (long) subspaces * k;
            if (entries > Integer.MAX_VALUE || entries * subLength > Integer.MAX_VALUE / 2) {
                throw bad("section 'header': " + gctx + ": codebook of " + subspaces + " x " + k + " x " + subLength
                        + " values is too large");
            }
            Codebook cb;
            JsonNode shared = g.get("codebook");
            if (shared != null) {
                cb = shared.isTextual() ? codebooks.get(shared.asText()) : null;
                if (cb == null) {
                    throw bad("section 'header': " + gctx + ": unknown shared codebook " + shared);
                }
                if (cb.k() != entries || cb.b() != subLength) {
                    throw bad("section 'header': " + gctx + ": shared codebook '" + cb.name() + "' is " + cb.k() + " x "
                            + cb.b() + ", group expects " + entries + " x " + subLength);
                }
            } else {
                cb = new Codebook(null, (int) entries, subLength,
                        section(g.get("codebookSection"), gctx + " codebook", entries * subLength * 2, 0));
            }
            long count = (long) colCount * t;
            String codesLabel = gctx + " codes";
            MemorySegment codes = section(g.get("codes"), codesLabel, BitPacker.packedBytes(count, bits),
                    BitPacker.TAIL_BYTES);
            if (k < (1 << bits)) {
                checkCodesBelow(codes, bits, count, k, codesLabel);
            }
            groups.add(new PqGroup(colStart, colCount, bits, k, cb, codes));
            next += colCount;
        }
        if (next != cols) {
            throw bad("section 'header': " + ctx + ": groups cover " + next + " of " + cols + " columns");
        }
        MemorySegment scales = l.has("rowScales") ? section(l.get("rowScales"), ctx + " row scales", rows * 2, 0) : null;
        try {
            return new RsavqLinear(name, rows, cols, subLength, subspaces, perm, groups, scales);
        } catch (IllegalArgumentException e) {
            throw bad("section 'header': " + ctx + ": " + e.getMessage());
        }
    }

    /**
     * Validates a section descriptor and returns the mapped bytes: {@code length} (checked against
     * {@code expected} unless that is -1) plus {@code tail} bytes that must be zero.
     */
    private MemorySegment section(JsonNode s, String label, long expected, int tail) {
        if (s == null || !s.isObject()) {
            throw bad("section '" + label + "': missing from the header");
        }
        long offset = longIn(s, "offset", "section " + label, 0, Long.MAX_VALUE);
        long length = longIn(s, "length", "section " + label, 0, Long.MAX_VALUE);
        long stored = longIn(s, "crc32c", "section " + label, 0, 0xFFFFFFFFL);
        if (expected >= 0 && length != expected) {
            throw bad("section '" + label + "': " + length + " bytes, expected " + expected);
        }
        if (offset % JvqLayout.ALIGN != 0 || offset < JvqLayout.PREAMBLE_BYTES || length > dataEnd - offset
                || tail > dataEnd - offset - length) {
            throw bad("section '" + label + "': offset " + offset + " + " + length + " bytes lies outside the data"
                    + " region [" + JvqLayout.PREAMBLE_BYTES + ", " + dataEnd + ") or is misaligned");
        }
        MemorySegment data = file.asSlice(offset, length);
        long actual = crc(data);
        if (actual != stored) {
            throw bad(String.format("section '%s': checksum mismatch (stored %08x, computed %08x; corrupted)", label,
                    stored, actual));
        }
        for (long i = offset + length; i < offset + length + tail; i++) {
            if (file.get(ValueLayout.JAVA_BYTE, i) != 0) {
                throw bad("section '" + label + "': padding after the data is not zero (corrupted)");
            }
        }
        extents.add(new long[] {offset, offset + length + tail});
        extentLabels.add(label);
        sectionBytes += length;
        return file.asSlice(offset, length + tail);
    }

    /** Sections must not overlap, and every byte between them must be zero padding. */
    private void checkExtents() {
        Integer[] order = new Integer[extents.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> extents.get(i)[0]).thenComparingLong(i -> extents.get(i)[1]));
        long prevEnd = JvqLayout.PREAMBLE_BYTES;
        String prevLabel = "preamble";
        for (int i : order) {
            long[] e = extents.get(i);
            if (e[0] < prevEnd) {
                throw bad("section '" + extentLabels.get(i) + "' overlaps section '" + prevLabel + "'");
            }
            checkZero(prevEnd, e[0], prevLabel);
            prevEnd = e[1];
            prevLabel = extentLabels.get(i);
        }
        checkZero(prevEnd, dataEnd, prevLabel);
    }

    private void checkZero(long from, long to, String after) {
        for (long p = from; p < to; p++) {
            if (file.get(ValueLayout.JAVA_BYTE, p) != 0) {
                throw bad("padding after section '" + after + "' (offset " + p + ") is not zero (corrupted)");
            }
        }
    }

    private void checkSparseIndex(MemorySegment idx, long nnz, long limit, String label) {
        long prev = -1;
        for (long i = 0; i < nnz; i++) {
            long f = idx.getAtIndex(LittleEndian.I32, i);
            if (f <= prev || f >= limit) {
                throw bad("section '" + label + "': entry " + i + " = " + f
                        + (f >= limit || f < 0 ? " is outside the matrix" : " is not ascending"));
            }
            prev = f;
        }
    }

    private void checkCodesBelow(MemorySegment codes, int bits, long m, int k, String label) {
        BitPacker.Reader r = new BitPacker.Reader(codes, bits, 0);
        for (long i = 0; i < m; i++) {
            int c = r.next();
            if (c >= k) {
                throw bad("section '" + label + "': code " + i + " = " + c + " is not below K = " + k);
            }
        }
    }

    private static long crc(MemorySegment data) {
        CRC32C crc = new CRC32C();
        for (long off = 0; off < data.byteSize(); off += CHUNK) {
            crc.update(data.asSlice(off, Math.min(CHUNK, data.byteSize() - off)).asByteBuffer());
        }
        return crc.getValue();
    }

    // ---- typed header access: every missing or ill-typed field is one line naming it ----

    private Iterable<JsonNode> array(JsonNode header, String field) {
        JsonNode a = header.get(field);
        if (a == null || !a.isArray()) {
            throw bad("section 'header': '" + field + "' is not an array");
        }
        return a;
    }

    private String text(JsonNode o, String field, String ctx) {
        JsonNode v = o == null ? null : o.get(field);
        if (v == null || !v.isTextual()) {
            throw bad("section 'header': " + ctx + ": missing or non-text field '" + field + "'");
        }
        return v.asText();
    }

    private boolean bool(JsonNode o, String field, String ctx) {
        JsonNode v = o.get(field);
        if (v == null || !v.isBoolean()) {
            throw bad("section 'header': " + ctx + ": missing or non-boolean field '" + field + "'");
        }
        return v.asBoolean();
    }

    private long longIn(JsonNode o, String field, String ctx, long min, long max) {
        JsonNode v = o.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw bad("section 'header': " + ctx + ": field '" + field + "' is " + (v == null ? "missing" : v)
                    + ", expected an integer in [" + min + ", " + max + "]");
        }
        return v.asLong();
    }

    private int intIn(JsonNode o, String field, String ctx, int min, int max) {
        return (int) longIn(o, field, ctx, min, max);
    }

    private JvqException bad(String problem) {
        return JvqException.badFile(path, problem);
    }
}
