package dev.jvq.backend.ffi;

import dev.jvq.JvqException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Finds and loads libjvq.so once per process: the file named by the system property
 * {@value #PATH_PROPERTY} when set, else the copy packaged in the jar at {@value #RESOURCE}
 * (extracted to a temporary file, because the dynamic loader needs a path). The library's
 * {@code jvq_abi_version()} must equal {@link jvq_h#JVQ_ABI_VERSION}, so a stale build is reported
 * instead of being called with the wrong signatures.
 *
 * <p>Every failure is a {@link JvqException} naming the library and the reason; the failure is
 * remembered and thrown again on later calls, so a missing library never surfaces as a class
 * initialisation error.
 */
public final class NativeLibrary {

    /** System property naming a libjvq.so to load instead of the packaged one. */
    public static final String PATH_PROPERTY = "jvq.native.lib";
    /** Classpath location of the library built by {@code make native}. */
    public static final String RESOURCE = "/native/linux-x86_64/libjvq.so";

    private static SymbolLookup lookup;
    private static String source;
    private static JvqException failure;

    private NativeLibrary() {}

    /** The symbols of the loaded library; loads it on first use. */
    public static synchronized SymbolLookup lookup() {
        if (lookup == null && failure == null) {
            try {
                load();
            } catch (JvqException e) {
                failure = e;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return lookup;
    }

    /** Where the loaded library came from (a path, or the resource and its temporary copy). */
    public static synchronized String source() {
        lookup();
        return source;
    }

    private static void load() {
        Opened opened = open(System.getProperty(PATH_PROPERTY));
        lookup = opened.lookup();
        source = opened.where();
    }

    /** A loaded library and where it came from. */
    record Opened(SymbolLookup lookup, String where) {}

    /**
     * Opens the library at {@code override} (a path), or the packaged one when it is null or blank,
     * and checks its ABI version.
     */
    static Opened open(String override) {
        Path path;
        String where;
        if (override != null && !override.isBlank()) {
            path = Path.of(override);
            where = path.toString();
            if (!Files.isRegularFile(path)) {
                throw new JvqException(where + " (system property " + PATH_PROPERTY
                        + "): no such file; build it with 'make native' or unset the property");
            }
        } else {
            path = extractResource();
            where = "classpath " + RESOURCE + " (extracted to " + path + ")";
        }
        requireElf(path, where);
        SymbolLookup found;
        try {
            found = SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new JvqException(where + ": cannot be loaded: " + e.getMessage(), e);
        } catch (IllegalCallerException e) {
            throw new JvqException(where + ": native access is disabled; run java with "
                    + "--enable-native-access=ALL-UNNAMED", e);
        }
        int version = abiVersion(found, where);
        if (version != jvq_h.JVQ_ABI_VERSION) {
            throw new JvqException(where + ": ABI version " + version + " but this jvq expects "
                    + jvq_h.JVQ_ABI_VERSION + "; rebuild it with 'make native'");
        }
        return new Opened(found, where);
    }

    /** Rejects a file that is not ELF before the dynamic loader sees it (and the JVM warns about it). */
    private static void requireElf(Path path, String where) {
        byte[] magic = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(magic, 0, 4);
        } catch (IOException e) {
            throw new JvqException(where + ": cannot be read: " + e.getMessage(), e);
        }
        if (n < 4 || magic[0] != 0x7f || magic[1] != 'E' || magic[2] != 'L' || magic[3] != 'F') {
            throw new JvqException(where + ": cannot be loaded: not an ELF shared library");
        }
    }

    private static int abiVersion(SymbolLookup found, String where) {
        MemorySegment fn = found.find("jvq_abi_version")
                .orElseThrow(() -> new JvqException(where + ": has no symbol jvq_abi_version; not a jvq library"));
        MethodHandle mh = Linker.nativeLinker().downcallHandle(fn, FunctionDescriptor.of(ValueLayout.JAVA_INT));
        try {
            return (int) mh.invokeExact();
        } catch (Throwable t) {
            throw new JvqException(where + ": jvq_abi_version() failed: " + t, t);
        }
    }

    private static Path extractResource() {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new JvqException("classpath " + RESOURCE + ": not found; this jar was built without the "
                        + "native library (run 'make native' before packaging) or set -D" + PATH_PROPERTY);
            }
            Path tmp = Files.createTempFile("libjvq-", ".so");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        } catch (IOException e) {
            throw new JvqException("classpath " + RESOURCE + ": cannot extract to a temporary file: " + e.getMessage(), e);
        }
    }
}
