package dev.jvq.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.io.AtomicFiles;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes tensors (and optional string metadata) as a {@code .safetensors} file. Tensors are laid
 * out back to back in the order given; the JSON header is padded with spaces (which the format
 * allows) so that the data section starts at a multiple of 8 bytes and 8-byte tensors stay aligned.
 * The file is written to a temporary sibling and renamed into place, so readers never see a
 * partial file.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 26;

    private SafetensorsWriter() {}

    public static void write(Path out, List<Tensor> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata);
        Path tmp = AtomicFiles.tempSibling(out);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(header));
            for (Tensor t : tensors) {
                writeSegment(ch, t.data());
            }
        } catch (IOException e) {
            AtomicFiles.deleteQuietly(tmp);
            throw new JvqException(out + ": cannot write: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            AtomicFiles.deleteQuietly(tmp);
            throw e;
        }
        AtomicFiles.commit(tmp, out);
    }

    /** The padded JSON header; its length makes 8 + length a multiple of 8. */
    static byte[] header(List<Tensor> tensors, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(m::put);
        }
        Set<String> seen = new HashSet<>();
        long offset = 0;
        for (Tensor t : tensors) {
            if (t.name().equals(SafetensorsFile.METADATA_KEY) || !seen.add(t.name())) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' is reserved or used twice");
            }
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", SafetensorsDTypes.toName(t.dtype()));
            ArrayNode shape = e.putArray("shape");
            Arrays.stream(t.shape()).forEach(shape::add);
            long size = t.data().byteSize();
            e.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a safetensors header", e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static void writeSegment(FileChannel ch, MemorySegment data) throws IOException {
        // asByteBuffer is limited to 2 GiB; write large tensors in chunks.
        for (long pos = 0; pos < data.byteSize(); pos += CHUNK) {
            long n = Math.min(CHUNK, data.byteSize() - pos);
            writeFully(ch, data.asSlice(pos, n).asByteBuffer());
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
