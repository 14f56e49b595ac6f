package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.RopeStyle;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class LlamaModelTest {
    static final LlamaConfig SMALL = new LlamaConfig(48, 100, 3, 6, 2, 77, 64, 10000.0, 1e-5, RopeStyle.HALVES, true, null);

    @Test
    void syntheticModelsHaveTheRightShapesAndAreDeterministic() {
        try (LlamaModel a = LlamaModel.synthetic(SMALL, DType.BF16, 3);
                LlamaModel b = LlamaModel.synthetic(SMALL, DType.BF16, 3);
                LlamaModel c = LlamaModel.synthetic(SMALL, DType.BF16, 4)) {
            for (int l = 0; l < 3; l++) {
                for (LinearKind k : LinearKind.values()) {
                    Linear lin = a.linear(l, k);
                    assertEquals(k.rows(SMALL), lin.rows());
                    assertEquals(k.cols(SMALL), lin.cols());
                    assertEquals(DType.BF16, ((DenseLinear) lin).dtype());
                }
            }
            assertEquals(16, a.linear(0, LinearKind.K).rows());
            assertEquals(100, a.linear(2, LinearKind.DOWN).cols());
            MemorySegment wa = ((DenseLinear) a.linear(1, LinearKind.O)).weight().data();
            MemorySegment wb = ((DenseLinear) b.linear(1, LinearKind.O)).weight().data();
            MemorySegment wc = ((DenseLinear) c.linear(1, LinearKind.O)).weight().data();
            assertEquals(-1, wa.mismatch(wb));
            assertNotEquals(-1, wa.mismatch(wc));
            assertSame(a.embedding(), ((DenseLinear) a.head()).weight());
            // Read-only like a mapped checkpoint, so a GPU backend may cache device copies.
            assertTrue(wa.isReadOnly() && a.attnNorm(0).data().isReadOnly() && a.embedding().data().isReadOnly());
            long expectParams = 77L * 48 + 48L * 7 + 3L * (48 * 48 * 2 + 16 * 48 * 2 + 3 * 100 * 48);
            assertEquals(expectParams, a.parameterCount());
            assertEquals(2 * (77L * 48 + 3L * (48 * 48 * 2 + 16 * 48 * 2 + 3 * 100 * 48)) + 4 * 48 * 7,
                    a.weightBytes());
        }
    }

    @Test
    void embedConvertsEveryDtypeToF32() {
        for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            try (LlamaModel m = LlamaModel.synthetic(SMALL, t, 11); Arena arena = Arena.ofConfined()) {
                MemorySegment row = arena.allocate(4L * 48);
                m.embed(76, row, 0);
                MemorySegment w = m.embedding().data();
                for (int i = 0; i < 48; i++) {
                    long idx = 76L * 48 + i;
                    float expect = switch (t) {
                        case F32 -> w.getAtIndex(ValueLayout.JAVA_FLOAT, idx);
                        case F16 -> Float.float16ToFloat(w.getAtIndex(ValueLayout.JAVA_SHORT, idx));
                        default -> Float.intBitsToFloat(w.getAtIndex(ValueLayout.JAVA_SHORT, idx) << 16);
                    };
                    assertEquals(expect, row.getAtIndex(ValueLayout.JAVA_FLOAT, i));
                    assertTrue(expect != 0 && Math.abs(expect) <= Math.sqrt(3.0 / 48) * 1.01);
                }
                assertThrows(IllegalArgumentException.class, () -> m.embed(77, row, 0));
            }
        }
    }

    @Test
    void linearsAreReplaceableButShapeChecked() {
        try (LlamaModel m = LlamaModel.synthetic(SMALL, DType.F32, 5); Arena arena = Arena.ofConfined()) {
            Tensor t = new Tensor("new", DType.F16, new long[] {16, 48}, arena.allocate(2L * 16 * 48));
            m.setLinear(1, LinearKind.V, new DenseLinear(t));
            assertSame(t, ((DenseLinear) m.linear(1, LinearKind.V)).weight());
            assertThrows(IllegalArgumentException.class, () -> m.setLinear(1, LinearKind.Q, new DenseLinear(t)));
            assertEquals(LinearKind.Q, LinearKind.V.inputGroup());
            assertEquals(LinearKind.GATE, LinearKind.UP.inputGroup());
            assertEquals(LinearKind.DOWN, LinearKind.DOWN.inputGroup());
        }
    }
}
