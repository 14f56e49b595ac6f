package dev.jvq.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The arguments of one RSAVQ layer for {@link Backend#pqGemv} / {@link Backend#pqDequantRows} (layout:
 * native/include/jvq.h, jvq_pq_gemv), checked once and kept with the small native arrays the C call
 * takes — column starts, code widths, codewords per table, and the two arrays of pointers to each
 * group's codes and codebook — so a call builds nothing. Built once per layer; the native arrays live
 * in an automatic arena, freed with this object.
 *
 * <p>The Java segments are kept too: the pointer arrays carry bare addresses, so the segments behind
 * them are what the checks size and what the GPU backend uploads.
 */
public final class PqLayout {
    final long rows;
    final long cols;
    final int subLength;
    final int subspaces;
    final MemorySegment permutation;
    final MemorySegment rowScale;
    final int[] colStart;
    final int[] codeBits;
    final int[] cbK;
    final MemorySegment[] codes;
    final MemorySegment[] codebooks;
    final MemorySegment nativeColStart;
    final MemorySegment nativeCodeBits;
    final MemorySegment nativeCbK;
    final MemorySegment nativeCodes;
    final MemorySegment nativeCodebooks;

    /**
     * @param colStart groups + 1 ascending stored-column starts, 0 .. cols
     * @param codes per group its packed codes (with the 8-byte zero tail)
     * @param codebooks per group subspaces · cbK[g] codewords of subLength f16 values
     * @param rowScale rows f16 scales or {@link MemorySegment#NULL}
     * @throws IllegalArgumentException (one line) when any size or value does not fit the layout
     */
    public PqLayout(long rows, long cols, int subLength, int subspaces, MemorySegment permutation, int[] colStart,
            int[] codeBits, int[] cbK, MemorySegment[] codes, MemorySegment[] codebooks, MemorySegment rowScale) {
        SegmentChecks.pqLayout(rows, cols, subLength, subspaces, permutation, colStart, codeBits, cbK, codes,
                codebooks, rowScale);
        this.rows = rows;
        this.cols = cols;
        this.subLength = subLength;
        this.subspaces = subspaces;
        this.permutation = permutation;
        this.rowScale = rowScale;
        this.colStart = colStart.clone();
        this.codeBits = codeBits.clone();
        this.cbK = cbK.clone();
        this.codes = codes.clone();
        this.codebooks = codebooks.clone();
        Arena arena = Arena.ofAuto();
        nativeColStart = arena.allocateFrom(ValueLayout.JAVA_INT, colStart);
        nativeCodeBits = arena.allocateFrom(ValueLayout.JAVA_INT, codeBits);
        nativeCbK = arena.allocateFrom(ValueLayout.JAVA_INT, cbK);
        nativeCodes = arena.allocate(ValueLayout.ADDRESS, groups());
        nativeCodebooks = arena.allocate(ValueLayout.ADDRESS, groups());
        for (int g = 0; g < groups(); g++) {
            nativeCodes.setAtIndex(ValueLayout.ADDRESS, g, codes[g]);
            nativeCodebooks.setAtIndex(ValueLayout.ADDRESS, g, codebooks[g]);
        }
    }

    public int groups() {
        return codeBits.length;
    }

    public long rows() {
        return rows;
    }

    public long cols() {
        return cols;
    }

    /** T = ceil(rows / subLength): codes down one stored column. */
    long subVectors() {
        return Math.ceilDiv(rows, subLength);
    }

    /**
     * The pointer arrays hold bare addresses: refuse a call once the memory behind any of them has been
     * freed, instead of letting the kernel read it.
     */
    void checkAlive() {
        for (int g = 0; g < groups(); g++) {
            if (!codes[g].scope().isAlive() || !codebooks[g].scope().isAlive()) {
                throw new IllegalArgumentException("PQ layout: the codes or codebook of group " + g
                        + " belong to a closed arena");
            }
        }
    }
}
