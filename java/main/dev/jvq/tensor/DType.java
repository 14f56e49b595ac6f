package dev.jvq.tensor;

/** Element types of off-heap tensors. {@link #nativeCode} matches JVQ_DTYPE_* in native/include/jvq.h. */
public enum DType {
    F32(4, 0),
    F16(2, 1),
    BF16(2, 2),
    F64(8, -1),
    I32(4, -1),
    I64(8, -1),
    I8(1, -1),
    U8(1, -1);

    /** Bytes per element. */
    public final int bytes;
    /** The dtype code understood by the native kernels, or -1 when kernels do not take it as weights. */
    public final int nativeCode;

    DType(int bytes, int nativeCode) {
        this.bytes = bytes;
        this.nativeCode = nativeCode;
    }

    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }
}
