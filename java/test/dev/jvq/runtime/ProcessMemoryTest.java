package dev.jvq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class ProcessMemoryTest {

    @Test
    void parsesProcStatusSizes() {
        assertEquals(123456L * 1024, ProcessMemory.parseKilobytes("\t  123456 kB"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMemory.parseKilobytes(" 12 MB"));
    }

    /** Touching 64 MiB of fresh native memory raises the resident set and its peak by about that much. */
    @Test
    void touchedMemoryShowsInTheResidentSet() {
        long before = ProcessMemory.residentBytes();
        assertTrue(before > 0, "VmRSS " + before);
        long size = 64L << 20;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(size, 4096);
            s.fill((byte) 1);
            long during = ProcessMemory.residentBytes();
            assertTrue(during - before > size / 2, before + " -> " + during);
            assertTrue(ProcessMemory.peakResidentBytes() >= during);
        }
    }
}
