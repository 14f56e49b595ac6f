package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import dev.jvq.quant.QuantMethod;
import org.junit.jupiter.api.Test;

class RsavqMethodTest {

    private static RsavqParams parse(String s) {
        return assertInstanceOf(QuantMethod.Rsavq.class, QuantMethod.parse(s)).params();
    }

    @Test
    void presetsAreThePapersMethod() {
        for (int b : new int[] {2, 3, 4}) {
            RsavqParams p = parse("rsavq-" + b);
            assertEquals(b, p.bits());
            assertEquals(4, p.groups());
            assertEquals(6, p.vectorLength());
            assertEquals(2, p.subspaces());
            assertEquals(3, p.subLength());
            assertEquals(0.05, p.lambda());
            assertEquals(10, p.edsgIters());
            assertTrue(p.edsg() && p.wcsg() && p.rowScale());
            assertEquals(AllocationRule.PAPER, p.allocation());
            assertEquals("rsavq-" + b, QuantMethod.parse("RSAVQ-" + b).name());
        }
    }

    @Test
    void overridesRoundTripThroughTheCanonicalName() {
        RsavqParams p = parse("rsavq-3:groups=2,v=4,sub=1,lambda=0.1,edsg=off,wcsg=off,allocation=waterfill,"
                + "scale=none,seed=9,iters=3,kmeans=4,stability=50,rescale=off,damping=0.5");
        assertEquals(3, p.bits());
        assertEquals(2, p.groups());
        assertEquals(4, p.vectorLength());
        assertEquals(1, p.subspaces());
        assertEquals(0.1, p.lambda());
        assertFalse(p.edsg() || p.wcsg() || p.rowScale() || p.rescaleNaturalGradient());
        assertEquals(AllocationRule.WATERFILL, p.allocation());
        assertEquals(9, p.seed());
        assertEquals(3, p.edsgIters());
        assertEquals(4, p.kmeansIters());
        assertEquals(50, p.stability());
        assertEquals(0.5, p.damping());
        String name = new QuantMethod.Rsavq(p).name();
        assertEquals(p, parse(name));
        assertEquals("rsavq-2:edsg=off", new QuantMethod.Rsavq(parse("rsavq-2:edsg=off")).name());
    }

    @Test
    void badSpellingsSayWhatIsWrong() {
        assertTrue(assertThrows(JvqException.class, () -> parse("rsavq-2:foo=1")).getMessage().contains("foo"));
        assertTrue(assertThrows(JvqException.class, () -> parse("rsavq-x")).getMessage().contains("rsavq-B"));
        assertTrue(assertThrows(JvqException.class, () -> parse("rsavq-2:v=5")).getMessage().contains("multiple"));
        // 6 bits on sub-vectors of 3 rows would need 18-bit codes
        assertTrue(assertThrows(JvqException.class, () -> parse("rsavq-6")).getMessage().contains("18-bit"));
        assertTrue(assertThrows(JvqException.class, () -> parse("rsavq-2:edsg=maybe")).getMessage().contains("on or off"));
        assertTrue(assertThrows(JvqException.class, () -> parse("rsavq-2:lambda=-1")).getMessage().contains("lambda"));
        assertTrue(assertThrows(JvqException.class, () -> parse("rsavq-2:allocation=greedy")).getMessage()
                .contains("greedy"));
    }
}
