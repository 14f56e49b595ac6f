package dev.jvq.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIf;
import org.junit.jupiter.api.condition.EnabledIf;

/** Backend selection by name, on machines with and without a CUDA device. */
class BackendsTest {

    static boolean gpuPresent() {
        return CudaProbe.probe().available();
    }

    /** Runs select(name) capturing what it logs. */
    record Selected(Backend backend, String log) {}

    static Selected select(String name) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Backend b = Backends.select(name, new PrintStream(buf, true, StandardCharsets.UTF_8));
        return new Selected(b, buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void cpuByName() {
        Selected s = select("cpu");
        try (Backend b = s.backend()) {
            assertInstanceOf(CpuBackend.class, b);
            assertEquals("cpu", b.name());
            assertEquals("", s.log(), "choosing the CPU explicitly logs nothing");
        }
    }

    @Test
    void unknownNameIsAUserError() {
        JvqException e = assertThrows(JvqException.class, () -> Backends.select("tpu"));
        assertEquals("--backend tpu: unknown backend (expected one of auto, cpu, cuda)", e.getMessage());
    }

    @Test
    @DisabledIf("gpuPresent")
    void cudaWithoutDeviceFailsWithOneLine() {
        JvqException e = assertThrows(JvqException.class, () -> Backends.select("cuda"));
        String m = e.getMessage();
        assertFalse(m.isBlank());
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        assertTrue(m.startsWith("CUDA backend unavailable: "), m);
        assertTrue(m.contains(CudaProbe.probe().reason()), m);
        // Asking again gives the same answer (the probe did not leave JCuda half-initialised).
        assertEquals(m, assertThrows(JvqException.class, () -> Backends.select("cuda")).getMessage());
    }

    @Test
    @DisabledIf("gpuPresent")
    void autoWithoutDeviceFallsBackToCpuWithOneLogLine() {
        Selected s = select("auto");
        try (Backend b = s.backend()) {
            assertEquals("cpu", b.name());
        }
        String log = s.log();
        assertTrue(log.endsWith("\n"), log);
        assertEquals(1, log.lines().count(), "exactly one line: " + log);
        assertTrue(log.startsWith("jvq: using CPU backend (" + CudaProbe.probe().reason() + ")"), log);
    }

    @Test
    @DisabledIf("gpuPresent")
    void probeNamesTheMissingDriverWhenLibcudaIsAbsent() {
        if (CudaProbe.libraryLoads("libcuda.so.1")) {
            return; // a driver without a usable device: the reason is another (checked above)
        }
        assertEquals("no CUDA driver: libcuda.so.1 not found", CudaProbe.probe().reason());
    }

    @Test
    @EnabledIf("gpuPresent")
    void autoWithDeviceTakesCudaSilently() {
        Selected s = select("auto");
        try (Backend b = s.backend()) {
            assertEquals("cuda", b.name());
            assertEquals("", s.log());
            assertFalse(b.describe().isBlank());
        }
    }

    @Test
    void nullOrMixedCaseNames() {
        try (Backend b = select("CPU").backend()) {
            assertEquals("cpu", b.name());
        }
        Selected s = select(null); // null means auto
        try (Backend b = s.backend()) {
            assertEquals(gpuPresent() ? "cuda" : "cpu", b.name());
        }
    }

    @Test
    void firstLineOfMultiLineErrors() {
        assertEquals("a", CudaProbe.firstLine(new RuntimeException("  a\nb\nc")));
        assertEquals("IllegalStateException", CudaProbe.firstLine(new IllegalStateException()));
    }
}
