package dev.jvq.io;

import dev.jvq.JvqException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes outputs so that a reader never sees a half-written file: the bytes go to a temporary file
 * in the destination's directory, are forced to disk, and the file is renamed over the destination.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** A temporary sibling of {@code out}; fails with one line when the directory does not exist. */
    public static Path tempSibling(Path out) {
        Path abs = out.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new JvqException(out + ": output directory " + dir + " does not exist");
        }
        try {
            Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            tmp.toFile().deleteOnExit();
            readableByAll(tmp);
            return tmp;
        } catch (IOException e) {
            throw new JvqException(out + ": cannot create a file in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Temporary files are created owner-only (0600); an output file is an ordinary file, readable
     * by everyone like one written with a default umask (0644).
     */
    public static void readableByAll(Path tmp) {
        try {
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX file system: keep its default
        }
    }

    /** Forces {@code tmp} to disk and renames it over {@code out} (atomically where the file system can). */
    public static void commit(Path tmp, Path out) {
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            try {
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (NoSuchFileException e) {
            throw new JvqException(out + ": temporary file vanished before rename: " + e.getMessage(), e);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new JvqException(out + ": cannot write: " + e.getMessage(), e);
        }
    }

    public static void write(Path out, byte[] bytes) {
        Path tmp = tempSibling(out);
        try {
            Files.write(tmp, bytes);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new JvqException(out + ": cannot write: " + e.getMessage(), e);
        }
        commit(tmp, out);
    }

    public static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the temp file is also marked deleteOnExit
        }
    }
}
