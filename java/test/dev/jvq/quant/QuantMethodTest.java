package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import org.junit.jupiter.api.Test;

class QuantMethodTest {

    @Test
    void presets() {
        QuantMethod.HasVq mid = assertInstanceOf(QuantMethod.HasVq.class, QuantMethod.parse("hasvq-mid"));
        assertEquals(new HasVqParams(4, 2048, 0.015, 200, 15, 0), mid.params());
        QuantMethod.HasVq high = assertInstanceOf(QuantMethod.HasVq.class, QuantMethod.parse("HASVQ-high"));
        assertEquals(new HasVqParams(2, 2048, 0.020, 200, 15, 0), high.params());
        assertEquals("hasvq-mid", mid.name());
        assertEquals("hasvq-high", high.name());
        assertEquals(11, mid.params().indexBits());
    }

    @Test
    void overrides() {
        QuantMethod.HasVq m = (QuantMethod.HasVq) QuantMethod.parse("hasvq-high:k=256,rho=0,seed=7");
        assertEquals(new HasVqParams(2, 256, 0.0, 200, 15, 7), m.params());
        assertEquals(m, QuantMethod.parse(m.name()), "canonical name parses back: " + m.name());
        QuantMethod.HasVq n = (QuantMethod.HasVq) QuantMethod.parse("hasvq-mid:b=3,iters=2,stability=50");
        assertEquals(new HasVqParams(3, 2048, 0.015, 50, 2, 0), n.params());
        assertEquals(n, QuantMethod.parse(n.name()));
    }

    @Test
    void rtnNames() {
        assertEquals(new RtnParams(4, 0, true), ((QuantMethod.Rtn) QuantMethod.parse("rtn4-row")).params());
        assertEquals(new RtnParams(3, 32, true), ((QuantMethod.Rtn) QuantMethod.parse("rtn3-g32")).params());
        assertEquals(new RtnParams(3, 32, false), ((QuantMethod.Rtn) QuantMethod.parse("rtn3-g32-asym")).params());
        assertEquals(new RtnParams(8, 7, true), ((QuantMethod.Rtn) QuantMethod.parse("rtn8-g7-sym")).params());
        assertEquals(new RtnParams(2, 0, false), ((QuantMethod.Rtn) QuantMethod.parse("rtn2-row-asym")).params());
        assertEquals("rtn8-g7", QuantMethod.parse("rtn8-g7-sym").name());
        for (String s : new String[] {"rtn4-row", "rtn3-g32", "rtn3-g32-asym", "rtn2-row-asym"}) {
            assertEquals(s, QuantMethod.parse(s).name());
        }
    }

    @Test
    void clearErrors() {
        assertMessage("unknown quantisation method 'gptq'", "gptq");
        assertMessage("RTN bits must be in 2..8, got 9", "rtn9-g32");
        assertMessage("RTN bits must be in 2..8, got 1", "rtn1-row");
        assertMessage("group size G must be at least 1, got 0", "rtn4-g0");
        assertMessage("block size b must be at least 1, got 0", "hasvq-mid:b=0");
        assertMessage("at least 2 centroids (K), got 1", "hasvq-mid:k=1");
        assertMessage("sparsity rho must be in [0, 0.5), got 0.5", "hasvq-mid:rho=0.5");
        assertMessage("sparsity rho must be in [0, 0.5), got -0.1", "hasvq-mid:rho=-0.1");
        assertMessage("unknown HAS-VQ parameter 'q'", "hasvq-mid:q=1");
        assertMessage("'x' is not an integer", "hasvq-mid:k=x");
        assertMessage("unknown quantisation method", "rtn4-g");
    }

    private static void assertMessage(String expected, String method) {
        JvqException e = assertThrows(JvqException.class, () -> QuantMethod.parse(method));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains(method), "names the method: " + e.getMessage());
    }
}
