package dev.jvq.quant;

import dev.jvq.backend.Backend;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * HAS-VQ over a set of matrices with a codebook scope. For each group of matrices sharing a
 * codebook: the training sample is drawn uniformly without replacement from the group's pooled
 * vectors (each matrix normalised by its own row scales), k-means trains on it, and every matrix is
 * then assigned against the group's codebook. The pooled vectors are never all in memory: a
 * matrix's body is built, its sampled vectors copied out, and the body kept only while the group's
 * bodies stay under {@link #KEEP_BODIES_BYTES}; otherwise it is rebuilt for assignment
 * (deterministically, so nothing changes but time).
 */
public final class HasVqQuantizer {
    static final long KEEP_BODIES_BYTES = 512L << 20;

    /** One matrix to quantise: its name, projection kind (q, k, v, o, gate, up, down), weights and h. */
    public record Input(String name, String kind, Tensor weight, float[] hessianDiag) {}

    /**
     * @param layers the quantised layers, in input order
     * @param sharedCodebooks codebooks serving several layers (scope kind or model), in first-use order
     * @param warnings e.g. K clamped because a group has fewer vectors than centroids
     */
    public record Result(List<VqLinear> layers, List<Codebook> sharedCodebooks, List<String> warnings) {}

    private HasVqQuantizer() {}

    /** Quantises every input; output buffers come from {@code arena}; progress lines go to {@code log}. */
    public static Result quantize(List<Input> inputs, HasVqParams p, CodebookScope scope, Backend backend, Arena arena,
            Consumer<String> log) {
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            Input in = inputs.get(i);
            if (scope == CodebookScope.KIND && (in.kind() == null || in.kind().isEmpty())) {
                throw new IllegalArgumentException(in.name() + ": a per-kind codebook needs the projection kind");
            }
            groups.computeIfAbsent(scope.groupOf(in.name(), in.kind()), g -> new ArrayList<>()).add(i);
        }
        VqLinear[] layers = new VqLinear[inputs.size()];
        List<Codebook> shared = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> g : groups.entrySet()) {
            List<Input> members = g.getValue().stream().map(inputs::get).toList();
            String sharedName = scope == CodebookScope.MATRIX ? null : g.getKey();
            GroupResult r = quantizeGroup(members, sharedName, g.getKey(), p, backend, arena, log, warnings);
            for (int j = 0; j < members.size(); j++) {
                layers[g.getValue().get(j)] = r.layers.get(j);
            }
            if (sharedName != null) {
                shared.add(r.codebook);
            }
        }
        return new Result(List.of(layers), shared, warnings);
    }

    private record GroupResult(Codebook codebook, List<VqLinear> layers) {}

    private static GroupResult quantizeGroup(List<Input> members, String sharedName, String key, HasVqParams p,
            Backend backend, Arena arena, Consumer<String> log, List<String> warnings) {
        int b = p.block();
        long[] offsets = new long[members.size() + 1];
        for (int i = 0; i < members.size(); i++) {
            Tensor w = members.get(i).weight();
            if (w.rank() != 2) {
                throw new dev.jvq.JvqException(members.get(i).name() + ": expected a 2-D weight matrix, got " + w);
            }
            offsets[i + 1] = offsets[i] + VqLinear.vectors(w.dim(0), w.dim(1), b);
        }
        long total = offsets[members.size()];
        int k = p.centroids();
        if (k > total) {
            if (total < 2) {
                throw new dev.jvq.JvqException(key + ": only " + total + " vector(s) of length " + b
                        + "; HAS-VQ needs at least 2 (use a smaller block)");
            }
            int clamped = Integer.highestOneBit((int) total);
            String msg = key + ": " + k + " centroids exceed the " + total + " available vectors; using K = " + clamped;
            warnings.add(msg);
            log.accept("warning: " + msg);
            k = clamped;
        }
        int n = (int) Math.min(total, Math.min((long) k * p.stability(), Integer.MAX_VALUE / b));
        SplittableRandom rng = Sampling.generatorFor(p.seed(), key);
        long[] picks = Sampling.withoutReplacement(total, n, rng);

        long bodyBytes = total * b * 4;
        boolean keep = bodyBytes <= KEEP_BODIES_BYTES;
        HasVq.Prepared[] kept = new HasVq.Prepared[members.size()];
        Arena keepArena = Arena.ofConfined();
        try (Arena sampleArena = Arena.ofConfined()) {
            MemorySegment sample = sampleArena.allocate((long) n * b * 4, 64);
            int filled = 0;
            for (int i = 0; i < members.size(); i++) {
                Input in = members.get(i);
                Arena bodyArena = keep ? keepArena : Arena.ofConfined();
                HasVq.Prepared pm = HasVq.prepare(in.name(), in.weight(), in.hessianDiag(), p, bodyArena);
                while (filled < n && picks[filled] < offsets[i + 1]) {
                    MemorySegment.copy(pm.vector(picks[filled] - offsets[i]), 0, sample, (long) filled * b * 4, (long) b * 4);
                    filled++;
                }
                if (keep) {
                    kept[i] = pm;
                } else {
                    bodyArena.close();
                }
            }
            log.accept(String.format("%s: k-means K=%d b=%d on %d of %d vectors, %d iterations", key, k, b, n, total,
                    p.iters()));
            KMeans.Result km = KMeans.train(sample, n, b, k, p.iters(), rng, backend);
            if (km.revived() > 0) {
                log.accept(String.format("%s: revived %d dead centroids (%d dead in the last pass)", key, km.revived(),
                        km.deadAtEnd()));
            }
            Codebook codebook = HasVq.toCodebook(sharedName, km.centroids(), k, b, arena);
            List<VqLinear> out = new ArrayList<>();
            for (int i = 0; i < members.size(); i++) {
                Input in = members.get(i);
                HasVq.Prepared pm = kept[i];
                try (Arena bodyArena = Arena.ofConfined()) {
                    if (pm == null) {
                        pm = HasVq.prepare(in.name(), in.weight(), in.hessianDiag(), p, bodyArena);
                    }
                    out.add(HasVq.encode(pm, codebook, backend, arena));
                }
                kept[i] = null;
            }
            return new GroupResult(codebook, out);
        } finally {
            keepArena.close();
        }
    }
}
