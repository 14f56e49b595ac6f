package dev.jvq.backend;

import dev.jvq.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The compute kernels the engine runs, on one device. Arguments are off-heap {@link MemorySegment}s
 * in host memory laid out exactly as native/include/jvq.h documents for the function of the same
 * name (sizes in elements, matrices row-major, activations f32). The CPU backend calls the native
 * library in place; the CUDA backend keeps device copies of weights (read-only segments it has seen
 * before) and moves activations per call.
 *
 * <p>Implementations are thread-compatible: one caller at a time.
 */
public interface Backend extends AutoCloseable {

    /** Short name: "cpu" or "cuda". */
    String name();

    /** One line describing the device (CPU model and threads, or GPU name and memory). */
    String describe();

    // ---- dense linear algebra ----

    /** y[rows] = W x, W of dtype {@code wtype} (F32, F16 or BF16). */
    void gemv(DType wtype, MemorySegment w, MemorySegment x, MemorySegment y, long rows, long cols);

    /** Y[n x rows] = X[n x cols] Wᵀ. */
    void gemm(DType wtype, MemorySegment w, MemorySegment x, MemorySegment y, long n, long rows, long cols);

    /** C[m x n] (+)= A[m x k] B[k x n], all f32. */
    void sgemm(MemorySegment a, MemorySegment b, MemorySegment c, long m, long n, long k, boolean accumulate);

    // ---- transformer element-wise ----

    void rmsnorm(MemorySegment out, MemorySegment x, MemorySegment w, long n, long dim, float eps);

    void softmax(MemorySegment x, long n, long len);

    /** Rotary embedding in place; {@code pos} is int32[nTokens], {@code invFreq} f32[headDim/2]. */
    void rope(MemorySegment x, long nTokens, long nHeads, long headDim, MemorySegment pos, MemorySegment invFreq,
            RopeStyle style);

    /** gate = silu(gate) * up. */
    void siluMul(MemorySegment gate, MemorySegment up, long n);

    /** x += y. */
    void add(MemorySegment x, MemorySegment y, long n);

    /** Causal GQA attention of nQ queries at positions qPos0.. over the K/V caches; see jvq.h. */
    void attention(MemorySegment out, MemorySegment q, MemorySegment k, MemorySegment v, long nQ, long qPos0,
            long nHeads, long nKvHeads, long headDim, float scale);

    // ---- mission kernels ----

    /** h[d] (f64) += Σ_t x[t, j]². */
    void hessianDiagAccumulate(MemorySegment h, MemorySegment x, long nTokens, long d);

    /**
     * Nearest centroid for m vectors of length b among k centroids; optional (pass
     * {@link MemorySegment#NULL}) squared distances, and f64 sums [k x b] + int64 counts [k] accumulated.
     */
    void kmeansAssign(MemorySegment v, long m, MemorySegment c, long k, long b, MemorySegment idx,
            MemorySegment dist2, MemorySegment sums, MemorySegment counts);

    /** Adds sorted f16 sparse residuals falling in rows [row0, row0+nrows) into dst; see jvq.h. */
    void sparseScatter(MemorySegment dst, long row0, long nrows, long cols, MemorySegment flatIdx, MemorySegment val,
            long nnz, MemorySegment rowScale);

    /** Fused VQ-dequant GEMV; see jvq.h for the layout. */
    void vqGemv(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment rowScale,
            MemorySegment flatIdx, MemorySegment val, long nnz, MemorySegment x, MemorySegment y, long rows, long cols);

    /** Dequantises rows [row0, row0+nrows) of a VQ layer into dst (f32). */
    void vqDequantRows(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment rowScale,
            MemorySegment flatIdx, MemorySegment val, long nnz, MemorySegment dst, long row0, long nrows, long cols);

    /**
     * Fused RTN-dequant GEMV y = W x; see jvq.h for the layout. {@code group} 0 = one group per row;
     * {@code zeros} is {@link MemorySegment#NULL} when symmetric.
     */
    void rtnGemv(MemorySegment codes, int bits, long group, boolean symmetric, MemorySegment scales,
            MemorySegment zeros, MemorySegment x, MemorySegment y, long rows, long cols);

    /** Dequantises rows [row0, row0+nrows) of an RTN layer into dst (f32), as RtnLinear.dequantizeRows. */
    void rtnDequantRows(MemorySegment codes, int bits, long group, boolean symmetric, MemorySegment scales,
            MemorySegment zeros, MemorySegment dst, long row0, long nrows, long cols);

    /** Fused PQ-dequant GEMV y = W x of an RSAVQ layer (x in original column order); see jvq.h, jvq_pq_gemv. */
    void pqGemv(PqLayout layout, MemorySegment x, MemorySegment y);

    /** Dequantises rows [row0, row0+nrows) of an RSAVQ layer into dst (f32, original column order). */
    void pqDequantRows(PqLayout layout, MemorySegment dst, long row0, long nrows);

    @Override
    void close();
}
