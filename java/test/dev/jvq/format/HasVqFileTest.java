package dev.jvq.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.backend.CpuBackend;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.HasVqParams;
import dev.jvq.quant.HasVqQuantizer;
import dev.jvq.quant.LittleEndian;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.TestData;
import dev.jvq.quant.VqLinear;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real HAS-VQ output through the file: determinism across threads, and kernels on the mapped file. */
class HasVqFileTest {
    static CpuBackend cpu;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterEach
    void allThreads() {
        cpu.setThreads(0);
    }

    /** Quantises a small "model" (7 projections of 2 blocks) and writes it to {@code out}. */
    private static void quantizeAndWrite(Path out, HasVqParams p, CodebookScope scope) {
        String[] kinds = {"q", "k", "v", "o", "gate", "up", "down"};
        int[][] shapes = {{96, 96}, {48, 96}, {48, 96}, {96, 96}, {258, 96}, {258, 96}, {96, 258}};
        try (Arena arena = Arena.ofConfined()) {
            List<HasVqQuantizer.Input> in = new ArrayList<>();
            for (int blk = 0; blk < 2; blk++) {
                for (int i = 0; i < kinds.length; i++) {
                    int r = shapes[i][0];
                    int c = shapes[i][1];
                    in.add(new HasVqQuantizer.Input("blk." + blk + "." + kinds[i], kinds[i],
                            TestData.f32("w", TestData.weights(r, c, blk * 10 + i), r, c, arena),
                            TestData.hessian(c, 100 + blk * 10 + i)));
                }
            }
            HasVqQuantizer.Result r = HasVqQuantizer.quantize(in, p, scope, cpu, arena, s -> { });
            ObjectNode meta = JsonNodeFactory.instance.objectNode().put("method", "hasvq").put("scope", scope.label());
            List<JvqContents.StoredTensor> tensors = List.of(new JvqContents.StoredTensor(
                    TestData.f32("tok_embeddings", TestData.weights(50, 96, 1), 50, 96, arena),
                    TensorRole.EMBEDDING_AND_HEAD));
            JvqWriter.write(out, new JvqContents(meta, null, tensors, new ArrayList<QuantizedLayer>(r.layers())));
        }
    }

    @Test
    void sameSeedGivesByteIdenticalFilesOnOneAndTwoThreads() throws Exception {
        // 2·(96·96·2 + 48·96·2 + 258·96·3) / 2 weights → ~56 000 vectors of b = 2: the kernels split
        // the work between threads (the sums pass included).
        HasVqParams p = new HasVqParams(2, 256, 0.02, 100, 3, 12345);
        for (CodebookScope scope : new CodebookScope[] {CodebookScope.MODEL, CodebookScope.MATRIX}) {
            cpu.setThreads(1);
            quantizeAndWrite(dir.resolve("one.jvq"), p, scope);
            cpu.setThreads(2);
            quantizeAndWrite(dir.resolve("two.jvq"), p, scope);
            byte[] one = Files.readAllBytes(dir.resolve("one.jvq"));
            byte[] two = Files.readAllBytes(dir.resolve("two.jvq"));
            assertArrayEquals(one, two, scope.label());
            if (scope == CodebookScope.MODEL) {
                quantizeAndWrite(dir.resolve("other.jvq"), p.withSeed(1), scope);
                assertFalse(Arrays.equals(one, Files.readAllBytes(dir.resolve("other.jvq"))), "the seed matters");
            }
        }
    }

    @Test
    void kernelsRunOnTheMappedFile() throws Exception {
        Path f = dir.resolve("m.jvq");
        quantizeAndWrite(f, new HasVqParams(4, 128, 0.015, 20, 3, 5), CodebookScope.KIND);
        try (JvqFile file = JvqReader.open(f); Arena arena = Arena.ofConfined()) {
            for (QuantizedLayer l : file.contents().layers()) {
                VqLinear q = (VqLinear) l;
                int cols = (int) q.cols();
                int rows = (int) q.rows();
                float[] x = TestData.weights(1, cols, 3);
                MemorySegment xs = arena.allocate(cols * 4L, 64);
                MemorySegment.copy(x, 0, xs, LittleEndian.F32, 0, cols);
                MemorySegment y = arena.allocate(rows * 4L, 64);
                q.gemv(cpu, xs, y); // codes, codebook, scales and residuals are read-only slices of the mapping
                float[] w = q.dequantizeInJava();
                for (int r = 0; r < rows; r++) {
                    double ref = 0;
                    double mag = 0;
                    for (int c = 0; c < cols; c++) {
                        ref += (double) w[r * cols + c] * x[c];
                        mag += Math.abs((double) w[r * cols + c] * x[c]);
                    }
                    assertEquals(ref, y.getAtIndex(LittleEndian.F32, r), 1e-5 * mag + 1e-9, l.name() + " row " + r);
                }
            }
            assertEquals(7, file.contents().sharedCodebooks().size());
        }
    }
}
