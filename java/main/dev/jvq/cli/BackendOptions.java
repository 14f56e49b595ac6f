package dev.jvq.cli;

import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.backend.Backends;
import dev.jvq.backend.CpuBackend;
import picocli.CommandLine.Option;

/** The --backend and --threads options shared by the commands that run a model. */
final class BackendOptions {
    @Option(names = "--backend", defaultValue = "auto", paramLabel = "auto|cpu|cuda",
            description = "Where the kernels run (default: ${DEFAULT-VALUE}; auto picks CUDA when a device is"
                    + " present, else the CPU).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "CPU threads for the native kernels (default 0 = all cores).")
    int threads;

    Backend open() {
        if (threads < 0) {
            throw new JvqException("--threads " + threads + ": must be >= 0");
        }
        Backend b = Backends.select(backend);
        if (threads > 0 && b instanceof CpuBackend cpu) {
            cpu.setThreads(threads);
        }
        return b;
    }
}
