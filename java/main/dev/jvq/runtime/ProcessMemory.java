package dev.jvq.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory of this process from Linux's {@code /proc/self/status}: VmRSS (now) and VmHWM
 * (the peak, "high water mark"). Both count every resident page — the JVM's heap and code, native
 * allocations, and the pages of mapped model files that were touched.
 */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {}

    /** Current resident set in bytes, or -1 where /proc/self/status is not available. */
    public static long residentBytes() {
        return field("VmRSS:");
    }

    /** Peak resident set in bytes since the process started, or -1 where not available. */
    public static long peakResidentBytes() {
        return field("VmHWM:");
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(name)) {
                    return parseKilobytes(line.substring(name.length()));
                }
            }
            return -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** "   123456 kB" → bytes. */
    static long parseKilobytes(String value) {
        String v = value.trim();
        if (!v.endsWith("kB")) {
            throw new IllegalArgumentException("expected a size in kB, got '" + value + "'");
        }
        return Long.parseLong(v.substring(0, v.length() - 2).trim()) * 1024;
    }
}
