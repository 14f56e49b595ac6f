package dev.jvq.quant;

import java.lang.foreign.MemorySegment;

/**
 * A VQ codebook: k codewords of b fp16 values (k x b, row-major, little-endian).
 *
 * @param name the shared codebook's name (one codebook serving several layers, stored once), or
 *     null for a codebook private to one layer
 */
public record Codebook(String name, int k, int b, MemorySegment data) {

    public Codebook {
        if (k < 2 || b < 1) {
            throw new IllegalArgumentException("codebook " + name + ": k = " + k + ", b = " + b);
        }
        if (data.byteSize() != (long) k * b * 2) {
            throw new IllegalArgumentException("codebook " + name + ": " + data.byteSize() + " bytes for " + k + " x " + b
                    + " fp16");
        }
    }

    public boolean shared() {
        return name != null;
    }

    /** Codeword j, element d, as float. */
    public float at(int j, int d) {
        return Float.float16ToFloat(data.getAtIndex(LittleEndian.I16, (long) j * b + d));
    }

    /** All codewords as floats (k·b). */
    public float[] toFloats() {
        float[] out = new float[k * b];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.float16ToFloat(data.getAtIndex(LittleEndian.I16, i));
        }
        return out;
    }

    /** Bits this codebook occupies: K·b·16. */
    public long bits() {
        return (long) k * b * 16;
    }
}
