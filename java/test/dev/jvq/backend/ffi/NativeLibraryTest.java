package dev.jvq.backend.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLibraryTest {

    @Test
    void packagedLibraryLoadsWithTheExpectedAbi() {
        NativeLibrary.Opened lib = NativeLibrary.open(null);
        assertTrue(lib.where().contains(NativeLibrary.RESOURCE), lib.where());
        assertTrue(lib.lookup().find("jvq_gemv").isPresent());
    }

    @Test
    void missingOverrideNamesTheFileAndTheProperty(@TempDir Path dir) {
        Path missing = dir.resolve("nope/libjvq.so");
        JvqException e = assertThrows(JvqException.class, () -> NativeLibrary.open(missing.toString()));
        assertTrue(e.getMessage().startsWith(missing.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(NativeLibrary.PATH_PROPERTY), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void aFileThatIsNotALibraryIsReportedNotCrashed(@TempDir Path dir) throws IOException {
        Path junk = Files.writeString(dir.resolve("libjvq.so"), "not an ELF file\n");
        JvqException e = assertThrows(JvqException.class, () -> NativeLibrary.open(junk.toString()));
        assertTrue(e.getMessage().startsWith(junk.toString()) && e.getMessage().contains("cannot be loaded"),
                e.getMessage());
    }

    @Test
    void aLibraryWithoutTheAbiSymbolIsRejected() {
        // libm is a real shared library, but not ours.
        Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(libm), "no " + libm);
        JvqException e = assertThrows(JvqException.class, () -> NativeLibrary.open(libm.toString()));
        assertTrue(e.getMessage().contains("jvq_abi_version"), e.getMessage());
    }
}
