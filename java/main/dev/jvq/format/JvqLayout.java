package dev.jvq.format;

import java.nio.charset.StandardCharsets;

/** Fixed facts of the .jvq layout (FORMAT.md beside this file). */
final class JvqLayout {
    /** "JVQMODEL" */
    static final byte[] MAGIC = "JVQMODEL".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int PREAMBLE_BYTES = 64;
    /** Every section and the header start at a multiple of this. */
    static final int ALIGN = 64;

    // Preamble field offsets.
    static final int OFF_VERSION = 8;
    static final int OFF_FLAGS = 12;
    static final int OFF_HEADER_OFFSET = 16;
    static final int OFF_HEADER_LENGTH = 24;
    static final int OFF_HEADER_CRC = 32;
    static final int OFF_FILE_LENGTH = 40;
    static final int OFF_PREAMBLE_CRC = 60;

    static final String TYPE_HASVQ = "hasvq";
    static final String TYPE_RTN = "rtn";
    static final String TYPE_RSAVQ = "rsavq";

    private JvqLayout() {}

    static long align(long pos) {
        return (pos + ALIGN - 1) & -ALIGN;
    }
}
