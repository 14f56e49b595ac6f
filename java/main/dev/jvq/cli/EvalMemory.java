package dev.jvq.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.runtime.ProcessMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The memory account of one {@code jvq eval} run: did the process need more than the model file, the
 * KV cache and the activations (a hidden dense copy of the weights would show as a margin of about
 * the dense model's size)? The JVM's own footprint (heap, JIT code, class metadata) is part of every
 * resident-set figure; the resident set measured before the model was opened estimates it.
 *
 * @param startRssBytes VmRSS before the model was opened (-1 if unknown)
 * @param peakRssBytes VmHWM after the evaluation (-1 if unknown)
 * @param modelFileBytes the size of the model file (all regular files of a model directory)
 * @param kvCacheBytes KV cache the runner allocated
 * @param activationBytes activation buffers the runner allocated
 * @param jvmHeapCommittedBytes Java heap committed at the end (tokenised text, strings, garbage not yet
 *     collected): part of the margin, not weights
 * @param jvmNonHeapCommittedBytes JIT code cache, class metadata and the like, committed at the end
 */
record EvalMemory(long startRssBytes, long peakRssBytes, long modelFileBytes, long kvCacheBytes,
        long activationBytes, long jvmHeapCommittedBytes, long jvmNonHeapCommittedBytes) {

    /** Measures the resident set and the JVM's pools now; the other figures come from the run. */
    static EvalMemory now(long startRssBytes, long modelFileBytes, long kvCacheBytes, long activationBytes) {
        MemoryMXBean jvm = ManagementFactory.getMemoryMXBean();
        return new EvalMemory(startRssBytes, ProcessMemory.peakResidentBytes(), modelFileBytes, kvCacheBytes,
                activationBytes, jvm.getHeapMemoryUsage().getCommitted(), jvm.getNonHeapMemoryUsage().getCommitted());
    }

    /** File size plus KV cache plus activations: what an evaluation needs beyond the JVM. */
    long budgetBytes() {
        return modelFileBytes + kvCacheBytes + activationBytes;
    }

    /** Peak RSS − (file + KV + activations); the JVM's baseline is still inside it. */
    long marginBytes() {
        return peakRssBytes - budgetBytes();
    }

    /** The margin with the resident set at start (the JVM's baseline) taken out too. */
    long marginOverStartBytes() {
        return marginBytes() - startRssBytes;
    }

    boolean known() {
        return startRssBytes >= 0 && peakRssBytes >= 0;
    }

    static long sizeOf(Path model) {
        try {
            if (!Files.isDirectory(model)) {
                return Files.size(model);
            }
            try (Stream<Path> files = Files.list(model)) {
                long sum = 0;
                for (Path p : (Iterable<Path>) files::iterator) {
                    if (Files.isRegularFile(p)) {
                        sum += Files.size(p);
                    }
                }
                return sum;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(model + ": cannot read its size", e);
        }
    }

    void put(ObjectNode o) {
        ObjectNode m = o.putObject("memory");
        m.put("rss_at_start_bytes", startRssBytes);
        m.put("peak_rss_bytes", peakRssBytes);
        m.put("model_file_bytes", modelFileBytes);
        m.put("kv_cache_bytes", kvCacheBytes);
        m.put("activation_bytes", activationBytes);
        m.put("file_kv_activation_bytes", budgetBytes());
        m.put("jvm_heap_committed_bytes", jvmHeapCommittedBytes);
        m.put("jvm_non_heap_committed_bytes", jvmNonHeapCommittedBytes);
        if (known()) {
            m.put("margin_bytes", marginBytes());
            m.put("margin_minus_rss_at_start_bytes", marginOverStartBytes());
        }
    }

    String text() {
        if (!known()) {
            return String.format(Locale.ROOT, "memory: resident set unknown (no /proc/self/status); model file %s,"
                    + " KV cache %s, activations %s", mib(modelFileBytes), mib(kvCacheBytes), mib(activationBytes));
        }
        return String.format(Locale.ROOT, "memory: peak RSS %s; model file %s + KV cache %s + activations %s = %s;"
                + " margin %s, of which RSS at start (JVM baseline) %s, leaving %s; the JVM has committed %s of"
                + " Java heap and %s of code and metadata", mib(peakRssBytes), mib(modelFileBytes), mib(kvCacheBytes),
                mib(activationBytes), mib(budgetBytes()), mib(marginBytes()), mib(startRssBytes),
                mib(marginOverStartBytes()), mib(jvmHeapCommittedBytes), mib(jvmNonHeapCommittedBytes));
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / (1024.0 * 1024.0));
    }
}
