package dev.jvq.runtime;

import dev.jvq.backend.Backend;
import java.lang.foreign.MemorySegment;

/**
 * A linear layer y = W x with W of shape rows x cols (d_out x d_in), whatever its storage: dense
 * f32/f16/bf16, RTN integers, or vector-quantised codes. The transformer only sees this interface.
 */
public interface Linear {
    long rows();

    long cols();

    /** y[rows] = W x[cols] (decode). */
    void gemv(Backend backend, MemorySegment x, MemorySegment y);

    /** Y[n x rows] = X[n x cols] Wᵀ (prefill, calibration). */
    void gemm(Backend backend, MemorySegment x, MemorySegment y, long n);

    /** Bytes of weight storage this layer reads per multiplication (for bandwidth figures). */
    long storageBytes();
}
