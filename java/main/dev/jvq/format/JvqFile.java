package dev.jvq.format;

import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * An opened, fully validated .jvq file. Its tensors and layers are slices of one read-only memory
 * mapping, valid until {@link #close}.
 *
 * @param sectionCount sections in the file (empty ones included)
 * @param sectionBytes the sum of all section lengths: the payload
 * @param headerBytes the JSON header's length
 */
public record JvqFile(Path path, long size, JvqContents contents, int sectionCount, long sectionBytes,
        long headerBytes, Arena arena) implements AutoCloseable {

    /** Bytes that are neither payload nor header: the fixed preamble and alignment padding. */
    public long overheadBytes() {
        return size - sectionBytes - headerBytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
