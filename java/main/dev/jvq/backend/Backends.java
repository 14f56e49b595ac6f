package dev.jvq.backend;

import dev.jvq.JvqException;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * Chooses the backend a command runs on ({@code --backend auto|cpu|cuda}).
 *
 * <ul>
 *   <li>{@code cpu}: the native CPU kernels.</li>
 *   <li>{@code cuda}: the GPU; where there is none, a {@link JvqException} whose one-line message says
 *       why (no driver, no device, driver too old, GPU too old, kernels missing from the build).</li>
 *   <li>{@code auto}: the GPU when {@link CudaProbe} finds a usable one and it starts; otherwise the
 *       CPU, after one line on stderr saying why.</li>
 * </ul>
 * Nothing here touches a CUDA class unless the probe found a device: on a machine without a driver,
 * JCuda's driver classes cannot even be initialised.
 */
public final class Backends {

    /** The names {@link #select(String)} accepts. */
    public static final List<String> NAMES = List.of("auto", "cpu", "cuda");

    private Backends() {}

    /** Selects by name, logging the CPU fallback of {@code auto} to {@link System#err}. */
    public static Backend select(String name) {
        return select(name, System.err);
    }

    /** Selects by name; {@code log} receives the one line explaining an {@code auto} fallback to the CPU. */
    public static Backend select(String name, PrintStream log) {
        String n = name == null ? "auto" : name.strip().toLowerCase(Locale.ROOT);
        switch (n) {
            case "cpu":
                return new CpuBackend();
            case "cuda":
                return CudaBackend.open();
            case "auto": {
                CudaProbe.Result probe = CudaProbe.probe();
                if (!probe.available()) {
                    log.println("jvq: using CPU backend (" + probe.reason() + ")");
                    return new CpuBackend();
                }
                try {
                    return CudaBackend.open();
                } catch (JvqException e) {
                    log.println("jvq: using CPU backend (" + e.getMessage() + ")");
                    return new CpuBackend();
                }
            }
            default:
                throw new JvqException("--backend " + name + ": unknown backend (expected one of "
                        + String.join(", ", NAMES) + ")");
        }
    }

    /** Whether a backend can run here, and its device or the reason it cannot. */
    public record Status(String name, boolean available, String device, String reason) {}

    /** The state of every backend, opening each once to be sure it really starts (used by `jvq backends`). */
    public static List<Status> statuses() {
        return List.of(status("cpu"), status("cuda"));
    }

    private static Status status(String name) {
        if (name.equals("cuda")) {
            CudaProbe.Result probe = CudaProbe.probe();
            if (!probe.available()) {
                return new Status(name, false, probe.device(), probe.reason());
            }
        }
        try (Backend b = select(name)) {
            return new Status(name, true, b.describe(), null);
        } catch (JvqException e) {
            return new Status(name, false, null, e.getMessage());
        }
    }
}
