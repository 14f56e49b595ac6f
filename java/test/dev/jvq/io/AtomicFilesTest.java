package dev.jvq.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @Test
    void replacesExistingFile(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("a.bin");
        Files.write(out, new byte[] {9});
        AtomicFiles.write(out, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(out));
    }

    @Test
    void missingDirectoryIsOneLineError(@TempDir Path dir) {
        Path out = dir.resolve("nope/a.bin");
        JvqException e = assertThrows(JvqException.class, () -> AtomicFiles.write(out, new byte[] {1}));
        assertTrue(e.getMessage().contains("does not exist") && !e.getMessage().contains("\n"), e.getMessage());
    }
}
