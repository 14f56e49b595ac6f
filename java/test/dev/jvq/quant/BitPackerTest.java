package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BitPackerTest {

    @Test
    void roundTripsEveryWidthAtOddCounts() {
        SplittableRandom r = new SplittableRandom(11);
        try (Arena arena = Arena.ofConfined()) {
            for (int bits = 1; bits <= 16; bits++) {
                for (int count : new int[] {1, 3, 7, 33, 1001}) {
                    int[] codes = new int[count];
                    for (int i = 0; i < count; i++) {
                        codes[i] = r.nextInt(1 << bits);
                    }
                    codes[count - 1] = (1 << bits) - 1; // the all-ones code at the very end
                    long bytes = BitPacker.packedBytes(count, bits);
                    assertEquals(((long) count * bits + 7) / 8, bytes);
                    MemorySegment seg = arena.allocate(bytes + BitPacker.TAIL_BYTES);
                    seg.fill((byte) 0x5A); // garbage that pack must overwrite (tail included)
                    BitPacker.pack(codes, bits, seg);
                    assertArrayEquals(codes, BitPacker.unpack(seg, bits, count), "bits " + bits + " count " + count);
                    for (long i = bytes; i < seg.byteSize(); i++) {
                        assertEquals(0, seg.get(ValueLayout.JAVA_BYTE, i), "tail byte " + i);
                    }
                    // random access from any starting code
                    int start = count / 2;
                    BitPacker.Reader rd = new BitPacker.Reader(seg, bits, start);
                    for (int i = start; i < count; i++) {
                        assertEquals(codes[i], rd.next());
                    }
                    assertLsbFirst(codes, bits, seg);
                }
            }
        }
    }

    /** Checks the documented layout bit by bit: code i's bit t is stream bit i·bits + t. */
    private static void assertLsbFirst(int[] codes, int bits, MemorySegment seg) {
        for (int i = 0; i < codes.length; i++) {
            for (int t = 0; t < bits; t++) {
                long p = (long) i * bits + t;
                int bit = (seg.get(ValueLayout.JAVA_BYTE, p >>> 3) >>> (p & 7)) & 1;
                assertEquals((codes[i] >>> t) & 1, bit);
            }
        }
    }

    @Test
    void bitsForIsCeilLog2() {
        assertEquals(1, BitPacker.bitsFor(2));
        assertEquals(2, BitPacker.bitsFor(3));
        assertEquals(2, BitPacker.bitsFor(4));
        assertEquals(3, BitPacker.bitsFor(5));
        assertEquals(11, BitPacker.bitsFor(2048));
        assertEquals(12, BitPacker.bitsFor(2049));
        assertEquals(16, BitPacker.bitsFor(65536));
        assertThrows(IllegalArgumentException.class, () -> BitPacker.bitsFor(1));
    }

    @Test
    void rejectsCodesThatDoNotFit() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(16);
            assertThrows(IllegalArgumentException.class, () -> BitPacker.pack(new int[] {8}, 3, seg));
            assertThrows(IllegalArgumentException.class, () -> BitPacker.pack(new int[] {-1}, 3, seg));
        }
    }
}
