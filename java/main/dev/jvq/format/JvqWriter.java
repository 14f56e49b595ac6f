package dev.jvq.format;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.quant.BitPacker;
import dev.jvq.quant.Codebook;
import dev.jvq.quant.LittleEndian;
import dev.jvq.quant.PqGroup;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.RsavqLinear;
import dev.jvq.quant.RtnLinear;
import dev.jvq.quant.VqLinear;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Streams a .jvq file (FORMAT.md): each part is written as soon as it is handed over, so a model
 * never has to be held in memory twice. Everything goes to a temporary file in the target's
 * directory; {@link #commit} appends the JSON header (which needs every section's offset and
 * checksum, hence at the end), patches the fixed preamble that points at it, forces the data to
 * disk and renames the file into place atomically. A writer closed without commit — an exception
 * midway — deletes its temporary file, and a crash leaves at most a hidden {@code .tmp} file: never
 * a partial file at the output path.
 */
public final class JvqWriter implements AutoCloseable {
    private static final int CHUNK = 1 << 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path target;
    private final Path temp;
    private final FileChannel ch;
    private final ObjectNode header = JsonNodeFactory.instance.objectNode();
    private final ArrayNode tensors;
    private final ArrayNode codebooks;
    private final ArrayNode layers;
    private final Set<String> tensorNames = new HashSet<>();
    private final Set<String> layerNames = new HashSet<>();
    private final Set<String> codebookNames = new HashSet<>();
    private long pos;
    private boolean tokenizerWritten;
    private boolean done;

    private JvqWriter(Path target, Path temp, FileChannel ch) {
        this.target = target;
        this.temp = temp;
        this.ch = ch;
        header.put("format", "jvq");
        header.put("version", JvqLayout.VERSION);
        header.putObject("metadata");
        header.putNull("tokenizer");
        tensors = header.putArray("tensors");
        codebooks = header.putArray("codebooks");
        layers = header.putArray("layers");
        pos = JvqLayout.PREAMBLE_BYTES; // patched at commit
    }

    /** Starts a file to be committed at {@code target}; its directory must exist. */
    public static JvqWriter open(Path target) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new JvqException(target + ": output directory " + dir + " does not exist");
        }
        if (Files.isDirectory(abs)) {
            throw new JvqException(target + ": is a directory, expected a file name");
        }
        Path temp = null;
        try {
            temp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            dev.jvq.io.AtomicFiles.readableByAll(temp);
            FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            return new JvqWriter(abs, temp, ch);
        } catch (IOException e) {
            deleteQuietly(temp);
            throw new JvqException(target + ": cannot create a file in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code contents} to {@code target} in one go. */
    public static void write(Path target, JvqContents contents) {
        try (JvqWriter w = open(target)) {
            w.metadata(contents.metadata());
            if (contents.tokenizer() != null) {
                w.tokenizer(contents.tokenizer().kind(), contents.tokenizer().bytes());
            }
            for (JvqContents.StoredTensor t : contents.tensors()) {
                w.tensor(t.tensor(), t.role());
            }
            for (QuantizedLayer l : contents.layers()) {
                w.layer(l);
            }
            w.commit();
        }
    }

    /** Sets the free metadata object (model config, method, parameters…); may be called any time before commit. */
    public JvqWriter metadata(ObjectNode metadata) {
        header.set("metadata", metadata == null ? JsonNodeFactory.instance.objectNode() : metadata.deepCopy());
        return this;
    }

    public JvqWriter tokenizer(String kind, MemorySegment bytes) {
        checkOpen();
        if (tokenizerWritten) {
            throw new IllegalStateException("tokenizer written twice");
        }
        tokenizerWritten = true;
        ObjectNode t = header.putObject("tokenizer");
        t.put("kind", kind);
        t.set("section", section(bytes, bytes.byteSize(), 0));
        return this;
    }

    /** An unquantised tensor, stored in its own dtype. */
    public JvqWriter tensor(Tensor t, TensorRole role) {
        checkOpen();
        unique(tensorNames, t.name(), "tensor");
        ObjectNode o = tensors.addObject();
        o.put("name", t.name());
        o.put("role", role.label);
        o.put("dtype", t.dtype().name());
        ArrayNode shape = o.putArray("shape");
        for (long d : t.shape()) {
            shape.add(d);
        }
        o.set("section", section(t.data(), t.data().byteSize(), 0));
        return this;
    }

    /** A quantised layer; a shared codebook is written the first time a layer uses it. */
    public JvqWriter layer(QuantizedLayer layer) {
        checkOpen();
        unique(layerNames, layer.name(), "layer");
        ObjectNode o = layers.addObject();
        o.put("name", layer.name());
        o.put("rows", layer.rows());
        o.put("cols", layer.cols());
        switch (layer) {
            case VqLinear vq -> {
                Codebook cb = vq.codebook();
                o.put("type", JvqLayout.TYPE_HASVQ);
                o.put("b", cb.b());
                o.put("k", cb.k());
                o.put("bits", vq.bits());
                o.put("nnz", vq.nnz());
                codebook(o, cb);
                o.set("codes", section(vq.codes(), vq.codeBytes(), BitPacker.TAIL_BYTES));
                o.set("rowScales", section(vq.rowScales(), vq.rowScales().byteSize(), 0));
                o.set("sparseIndex", section(vq.sparseIndex(), vq.sparseIndex().byteSize(), 0));
                o.set("sparseValues", section(vq.sparseValues(), vq.sparseValues().byteSize(), 0));
            }
            case RsavqLinear rsavq -> rsavq(o, rsavq);
            case RtnLinear rtn -> {
                o.put("type", JvqLayout.TYPE_RTN);
                o.put("bits", rtn.params().bits());
                o.put("group", rtn.params().group());
                o.put("symmetric", rtn.params().symmetric());
                o.set("codes", section(rtn.codes(), rtn.codeBytes(), BitPacker.TAIL_BYTES));
                o.set("scales", section(rtn.scales(), rtn.scales().byteSize(), 0));
                if (rtn.zeros() != null) {
                    o.set("zeros", section(rtn.zeros(), rtn.zeros().byteSize(), 0));
                }
            }
        }
        return this;
    }

    /** A shared codebook by name (its section written the first time it is used), or a private one inline. */
    private void codebook(ObjectNode o, Codebook cb) {
        if (cb.shared()) {
            if (codebookNames.add(cb.name())) {
                ObjectNode c = codebooks.addObject();
                c.put("name", cb.name());
                c.put("k", cb.k());
                c.put("b", cb.b());
                c.set("section", section(cb.data(), cb.data().byteSize(), 0));
            }
            o.put("codebook", cb.name());
        } else {
            o.set("codebookSection", section(cb.data(), cb.data().byteSize(), 0));
        }
    }

    /**
     * An RSAVQ layer: the column permutation packed at ceil(log2 cols) bits an entry (the reader widens
     * it back to int32), then per group its columns, code width, codewords per table, codes and codebook.
     */
    private void rsavq(ObjectNode o, RsavqLinear l) {
        o.put("type", JvqLayout.TYPE_RSAVQ);
        o.put("subLength", l.subLength());
        o.put("subspaces", l.subspaces());
        int pbits = l.permutationBits();
        o.put("permutationBits", pbits);
        int cols = Math.toIntExact(l.cols());
        try (Arena arena = Arena.ofConfined()) {
            long bytes = BitPacker.packedBytes(cols, pbits);
            MemorySegment packed = arena.allocate(bytes + BitPacker.TAIL_BYTES);
            int[] perm = new int[cols];
            for (int j = 0; j < cols; j++) {
                perm[j] = l.permutation().getAtIndex(LittleEndian.I32, j);
            }
            BitPacker.pack(perm, pbits, packed);
            o.set("permutation", section(packed, bytes, 0));
        }
        ArrayNode groups = o.putArray("groups");
        for (PqGroup g : l.groups()) {
            ObjectNode go = groups.addObject();
            go.put("colStart", g.colStart());
            go.put("colCount", g.colCount());
            go.put("bits", g.bits());
            go.put("k", g.k());
            codebook(go, g.codebook());
            go.set("codes", section(g.codes(), g.codeBytes(l.rows()), BitPacker.TAIL_BYTES));
        }
        if (l.rowScales() != null) {
            o.set("rowScales", section(l.rowScales(), l.rowScales().byteSize(), 0));
        }
    }

    /** Writes the header and preamble, forces everything to disk and renames into place. */
    public void commit() {
        checkOpen();
        try {
            byte[] json = JSON.writeValueAsBytes(header);
            long headerOffset = JvqLayout.align(pos);
            zeros(headerOffset - pos);
            writeFully(ByteBuffer.wrap(json));
            long fileLength = pos;
            CRC32C crc = new CRC32C();
            crc.update(json);
            ByteBuffer pre = ByteBuffer.allocate(JvqLayout.PREAMBLE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            pre.put(JvqLayout.MAGIC);
            pre.putInt(JvqLayout.OFF_VERSION, JvqLayout.VERSION);
            pre.putInt(JvqLayout.OFF_FLAGS, 0);
            pre.putLong(JvqLayout.OFF_HEADER_OFFSET, headerOffset);
            pre.putLong(JvqLayout.OFF_HEADER_LENGTH, json.length);
            pre.putInt(JvqLayout.OFF_HEADER_CRC, (int) crc.getValue());
            pre.putLong(JvqLayout.OFF_FILE_LENGTH, fileLength);
            CRC32C pcrc = new CRC32C();
            pcrc.update(pre.array(), 0, JvqLayout.OFF_PREAMBLE_CRC);
            pre.putInt(JvqLayout.OFF_PREAMBLE_CRC, (int) pcrc.getValue());
            pre.position(0);
            while (pre.hasRemaining()) { // the buffer's position is the file offset: the preamble is at 0
                ch.write(pre, pre.position());
            }
            ch.force(true);
            ch.close();
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new JvqException(target + ": the file system cannot rename atomically; not written", e);
            }
            done = true;
            syncDirectory(target.getParent());
        } catch (IOException e) {
            throw new JvqException(target + ": write failed: " + e.getMessage(), e);
        } finally {
            if (!done) {
                close();
            }
        }
    }

    /** Without a successful commit: discards the temporary file. */
    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        try {
            ch.close();
        } catch (IOException ignored) {
            // the temporary file is deleted below either way
        }
        deleteQuietly(temp);
    }

    /** Appends data[0, length) at the next aligned offset, then {@code tail} zero bytes; returns its descriptor. */
    private ObjectNode section(MemorySegment data, long length, int tail) {
        try {
            long offset = JvqLayout.align(pos);
            zeros(offset - pos);
            CRC32C crc = new CRC32C();
            for (long off = 0; off < length; off += CHUNK) {
                ByteBuffer bb = data.asSlice(off, Math.min(CHUNK, length - off)).asByteBuffer();
                crc.update(bb.duplicate());
                writeFully(bb);
            }
            zeros(tail);
            ObjectNode s = JsonNodeFactory.instance.objectNode();
            s.put("offset", offset);
            s.put("length", length);
            s.put("crc32c", crc.getValue());
            return s;
        } catch (IOException e) {
            close();
            throw new JvqException(target + ": write failed: " + e.getMessage(), e);
        }
    }

    private void zeros(long n) throws IOException {
        if (n > 0) {
            writeFully(ByteBuffer.allocate((int) n));
        }
    }

    private void writeFully(ByteBuffer bb) throws IOException {
        while (bb.hasRemaining()) {
            pos += ch.write(bb, pos);
        }
    }

    private void checkOpen() {
        if (done) {
            throw new IllegalStateException(target + ": writer already committed or closed");
        }
    }

    private static void unique(Set<String> names, String name, String what) {
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate " + what + " name '" + name + "'");
        }
    }

    private static void syncDirectory(Path dir) {
        // Makes the rename itself durable; not every platform lets a directory be opened.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // best effort
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }
}
