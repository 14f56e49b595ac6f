package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import dev.jvq.backend.RopeStyle;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.tensor.DType;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cCheckpointTest {

    @Test
    void mapsTheFixtureModel() throws IOException {
        ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(Fixtures.model())).order(ByteOrder.LITTLE_ENDIAN);
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model())) {
            LlamaConfig c = m.config();
            assertEquals(new LlamaConfig(64, 172, 5, 8, 4, 512, 512, 10000.0, 1e-5, RopeStyle.INTERLEAVED, true, null), c);
            assertTrue(m.embedding().data().isMapped(), "weights must be mapped, not copied");
            // Spot checks against the raw bytes: offsets follow the llama2.c export order.
            long embed = 28;
            long rmsAtt = embed + 4L * 512 * 64;
            long wq = rmsAtt + 4L * 5 * 64;
            long wk = wq + 4L * 5 * 64 * 64;
            long wv = wk + 4L * 5 * 32 * 64;
            long wo = wv + 4L * 5 * 32 * 64;
            long rmsFfn = wo + 4L * 5 * 64 * 64;
            long w1 = rmsFfn + 4L * 5 * 64;
            long w2 = w1 + 4L * 5 * 172 * 64;
            long w3 = w2 + 4L * 5 * 64 * 172;
            long rmsFinal = w3 + 4L * 5 * 172 * 64;
            assertEquals(raw.getFloat((int) (embed + 4 * 100)), f(m.embedding().data(), 100));
            assertEquals(raw.getFloat((int) (rmsAtt + 4 * (64 * 3 + 5))), f(m.attnNorm(3).data(), 5));
            assertEquals(raw.getFloat((int) (wk + 4 * (2 * 32 * 64 + 77))), f(w(m, 2, LinearKind.K), 77));
            assertEquals(raw.getFloat((int) (wo + 4 * (4 * 64 * 64 + 4095))), f(w(m, 4, LinearKind.O), 4095));
            assertEquals(raw.getFloat((int) (w2 + 4 * (1 * 64 * 172 + 300))), f(w(m, 1, LinearKind.DOWN), 300));
            assertEquals(raw.getFloat((int) (w3 + 4 * (0 * 172 * 64 + 9))), f(w(m, 0, LinearKind.UP), 9));
            assertEquals(raw.getFloat((int) (w1 + 4 * (4 * 172 * 64 + 11007))), f(w(m, 4, LinearKind.GATE), 11007));
            assertEquals(raw.getFloat((int) (rmsFfn + 4 * 64 * 4 + 4 * 63)), f(m.ffnNorm(4).data(), 63));
            assertEquals(raw.getFloat((int) (rmsFinal + 4 * 17)), f(m.finalNorm().data(), 17));
            assertEquals(172, m.linear(0, LinearKind.GATE).rows());
            assertEquals(32, m.linear(0, LinearKind.V).rows());
            DenseLinear head = assertInstanceOf(DenseLinear.class, m.head());
            assertSame(m.embedding(), head.weight(), "positive vocab size: the head is the embedding");
        }
    }

    private static java.lang.foreign.MemorySegment w(LlamaModel m, int layer, LinearKind k) {
        return ((DenseLinear) m.linear(layer, k)).weight().data();
    }

    private static float f(java.lang.foreign.MemorySegment s, long i) {
        return s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
    }

    @Test
    void readsASeparateClassifier(@TempDir Path dir) throws IOException {
        byte[] good = Files.readAllBytes(Fixtures.model());
        ByteBuffer b = ByteBuffer.allocate(good.length + 4 * 512 * 64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(good);
        for (int i = 0; i < 512 * 64; i++) {
            b.putFloat(i * 0.5f);
        }
        b.putInt(20, -512);
        Path p = dir.resolve("untied.bin");
        Files.write(p, b.array());
        try (LlamaModel m = Llama2cCheckpoint.load(p)) {
            assertFalse(m.config().tiedEmbeddings());
            DenseLinear head = (DenseLinear) m.head();
            assertEquals(DType.F32, head.dtype());
            assertEquals(3 * 0.5f, f(head.weight().data(), 3));
            assertEquals(512, m.config().vocabSize());
        }
    }

    @Test
    void rejectsBadFilesWithOneLineNamingTheFile(@TempDir Path dir) throws IOException {
        byte[] good = Files.readAllBytes(Fixtures.model());

        Path truncated = write(dir, "truncated.bin", Arrays.copyOf(good, good.length - 100));
        assertMessage(truncated, truncated + ": truncated: expected 1056540 bytes for header");

        Path longer = write(dir, "longer.bin", Arrays.copyOf(good, good.length + 8));
        assertMessage(longer, longer + ": size mismatch: header");

        byte[] wrongLayers = good.clone();
        wrongLayers[8] = 6; // n_layers 6: the file is now too short for its header
        Path layers = write(dir, "layers.bin", wrongLayers);
        assertMessage(layers, layers + ": truncated: expected");

        byte[] heads = good.clone();
        heads[12] = 7; // 64 is not divisible by 7 heads
        Path badHeads = write(dir, "heads.bin", heads);
        assertMessage(badHeads, badHeads + ": inconsistent header");

        byte[] garbage = good.clone();
        garbage[0] = (byte) 0xff;
        garbage[3] = (byte) 0xff; // dim negative
        Path junk = write(dir, "junk.bin", garbage);
        assertMessage(junk, junk + ": not a llama2.c checkpoint");

        ByteBuffer v1 = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN).putInt(0x616b3432).putInt(1);
        Path versioned = write(dir, "v1.bin", v1.array());
        assertMessage(versioned, versioned + ": a llama2.c version-1 export");

        Path tiny = write(dir, "tiny.bin", new byte[10]);
        assertMessage(tiny, tiny + ": truncated: expected at least 28 bytes");

        assertMessage(dir.resolve("missing.bin"), dir.resolve("missing.bin") + ": no such file");
        assertMessage(dir, dir + ": is a directory");
    }

    private static Path write(Path dir, String name, byte[] data) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, data);
        return p;
    }

    private static void assertMessage(Path file, String prefix) {
        JvqException e = assertThrows(JvqException.class, () -> Llama2cCheckpoint.load(file).close());
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
