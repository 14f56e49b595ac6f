package dev.jvq.cli;

import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.backend.Backends;
import dev.jvq.backend.CpuBackend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Option;

/** The --backend and --threads options shared by the commands that run a model. */
final class BackendOptions {
    @Option(names = "--backend", defaultValue = "auto", paramLabel = "auto|cpu|cuda",
            description = "Where the kernels run (default: ${DEFAULT-VALUE}: CUDA when a usable GPU is found,"
                    + " else the CPU, saying why on stderr).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "CPU threads for the native kernels (default 0: OMP_NUM_THREADS, else all cores).")
    int threads;

    /** Opens the chosen backend; the reason for a CPU fallback under "auto" goes to stderr. */
    Backend open() {
        return open(new PrintWriter(System.err, true));
    }

    /** Opens the chosen backend; the reason for a CPU fallback under "auto" goes to {@code err}. */
    Backend open(PrintWriter err) {
        if (threads < 0) {
            throw new JvqException("--threads " + threads + ": must be >= 0");
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Backend b;
        try (PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8)) {
            b = Backends.select(backend, ps);
        }
        err.print(log.toString(StandardCharsets.UTF_8));
        err.flush();
        if (threads > 0 && b instanceof CpuBackend cpu) {
            cpu.setThreads(threads);
        }
        return b;
    }
}
