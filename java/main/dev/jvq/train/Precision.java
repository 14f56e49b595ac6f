package dev.jvq.train;

/** Arithmetic of the matrix products in {@link Backward}; everything else runs in float64. */
public enum Precision {
    /** Matrix products in float64 Java loops: the exact mode, checked against finite differences. */
    F64,
    /** Matrix products in f32 on the backend (gemm, sgemm): the fast mode for calibration. */
    F32
}
