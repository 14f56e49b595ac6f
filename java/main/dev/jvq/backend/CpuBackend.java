package dev.jvq.backend;

import static dev.jvq.backend.SegmentChecks.dims;
import static dev.jvq.backend.SegmentChecks.in;
import static dev.jvq.backend.SegmentChecks.mul;
import static dev.jvq.backend.SegmentChecks.optionalIn;
import static dev.jvq.backend.SegmentChecks.optionalOut;
import static dev.jvq.backend.SegmentChecks.out;
import static dev.jvq.backend.SegmentChecks.sparse;
import static dev.jvq.backend.SegmentChecks.vqLayout;

import static dev.jvq.backend.ffi.jvq_h.*;

import dev.jvq.backend.ffi.NativeLibrary;
import dev.jvq.tensor.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The CPU backend: every kernel is a call into libjvq.so (native/src, OpenMP) through the FFM
 * bindings in {@link dev.jvq.backend.ffi.jvq_h}, on the caller's segments in place.
 *
 * <p>The C kernels trust their pointers, so each method first checks that the segments are native,
 * large enough for the sizes given, and writable where the kernel writes: a mistake becomes an
 * {@link IllegalArgumentException} naming the argument, not a crash of the JVM. (What cannot be
 * checked cheaply per call — VQ codes below k, sparse indices sorted — is the file reader's job; the
 * kernels stay memory-safe regardless: see native/src/vq.c.)
 */
public final class CpuBackend implements Backend {

    private static final long F32 = 4, F16 = 2, F64 = 8, I32 = 4, I64 = 8;

    /** Loads the native library (a {@link dev.jvq.JvqException} saying why when it cannot). */
    public CpuBackend() {
        NativeLibrary.lookup();
    }

    /** Bounds the threads kernels use; 0 means the OpenMP default (OMP_NUM_THREADS, else all cores). */
    public void setThreads(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0 = all cores): " + n);
        }
        jvq_set_num_threads(n);
    }

    /** Threads kernels use now. */
    public int threads() {
        return jvq_max_threads();
    }

    /** Compiler and vector ISA of the loaded library, e.g. "gcc 12.2.0 avx2 fma f16c openmp 201511". */
    public String buildInfo() {
        return jvq_build_info().reinterpret(Long.MAX_VALUE).getString(0);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        return "cpu: " + cpuModel() + ", " + threads() + " threads, libjvq " + buildInfo();
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux or not readable: the model name is decoration only.
        }
        return System.getProperty("os.arch");
    }

    // ---- dense linear algebra ----

    @Override
    public void gemv(DType wtype, MemorySegment w, MemorySegment x, MemorySegment y, long rows, long cols) {
        int code = weightCode(wtype);
        dims("rows", rows, "cols", cols);
        in(w, "w", mul(rows, cols, wtype.bytes));
        in(x, "x", mul(cols, F32));
        out(y, "y", mul(rows, F32));
        check(jvq_gemv(code, w, x, y, rows, cols), "gemv");
    }

    @Override
    public void gemm(DType wtype, MemorySegment w, MemorySegment x, MemorySegment y, long n, long rows, long cols) {
        int code = weightCode(wtype);
        dims("n", n, "rows", rows, "cols", cols);
        in(w, "w", mul(rows, cols, wtype.bytes));
        in(x, "x", mul(n, cols, F32));
        out(y, "y", mul(n, rows, F32));
        check(jvq_gemm(code, w, x, y, n, rows, cols), "gemm");
    }

    @Override
    public void sgemm(MemorySegment a, MemorySegment b, MemorySegment c, long m, long n, long k, boolean accumulate) {
        dims("m", m, "n", n, "k", k);
        in(a, "a", mul(m, k, F32));
        in(b, "b", mul(k, n, F32));
        out(c, "c", mul(m, n, F32));
        jvq_sgemm(a, b, c, m, n, k, accumulate ? 1 : 0);
    }

    // ---- transformer element-wise ----

    @Override
    public void rmsnorm(MemorySegment out, MemorySegment x, MemorySegment w, long n, long dim, float eps) {
        dims("n", n, "dim", dim);
        in(x, "x", mul(n, dim, F32));
        in(w, "w", mul(dim, F32));
        out(out, "out", mul(n, dim, F32));
        jvq_rmsnorm(out, x, w, n, dim, eps);
    }

    @Override
    public void softmax(MemorySegment x, long n, long len) {
        dims("n", n, "len", len);
        out(x, "x", mul(n, len, F32));
        jvq_softmax(x, n, len);
    }

    @Override
    public void rope(MemorySegment x, long nTokens, long nHeads, long headDim, MemorySegment pos,
            MemorySegment invFreq, RopeStyle style) {
        dims("nTokens", nTokens, "nHeads", nHeads, "headDim", headDim);
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("rope: headDim must be even: " + headDim);
        }
        out(x, "x", mul(nTokens, nHeads, headDim * F32));
        in(pos, "pos", mul(nTokens, I32));
        in(invFreq, "invFreq", mul(headDim / 2, F32));
        jvq_rope(x, nTokens, nHeads, headDim, pos, invFreq, style.nativeCode);
    }

    @Override
    public void siluMul(MemorySegment gate, MemorySegment up, long n) {
        dims("n", n);
        out(gate, "gate", mul(n, F32));
        in(up, "up", mul(n, F32));
        jvq_silu_mul(gate, up, n);
    }

    @Override
    public void add(MemorySegment x, MemorySegment y, long n) {
        dims("n", n);
        out(x, "x", mul(n, F32));
        in(y, "y", mul(n, F32));
        jvq_add(x, y, n);
    }

    @Override
    public void attention(MemorySegment out, MemorySegment q, MemorySegment k, MemorySegment v, long nQ, long qPos0,
            long nHeads, long nKvHeads, long headDim, float scale) {
        dims("nQ", nQ, "qPos0", qPos0, "nHeads", nHeads, "nKvHeads", nKvHeads, "headDim", headDim);
        if (nKvHeads == 0 || nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException(
                    "attention: nHeads (" + nHeads + ") must be a positive multiple of nKvHeads (" + nKvHeads + ")");
        }
        long qBytes = mul(nQ, nHeads, headDim * F32);
        long kvBytes = mul(qPos0 + nQ, nKvHeads, headDim * F32);
        in(q, "q", qBytes);
        in(k, "k", kvBytes);
        in(v, "v", kvBytes);
        out(out, "out", qBytes);
        jvq_attention(out, q, k, v, nQ, qPos0, nHeads, nKvHeads, headDim, scale);
    }

    // ---- mission kernels ----

    @Override
    public void hessianDiagAccumulate(MemorySegment h, MemorySegment x, long nTokens, long d) {
        dims("nTokens", nTokens, "d", d);
        out(h, "h", mul(d, F64));
        in(x, "x", mul(nTokens, d, F32));
        jvq_hessian_diag_accumulate(h, x, nTokens, d);
    }

    @Override
    public void kmeansAssign(MemorySegment v, long m, MemorySegment c, long k, long b, MemorySegment idx,
            MemorySegment dist2, MemorySegment sums, MemorySegment counts) {
        dims("m", m, "k", k, "b", b);
        if (k == 0 || b == 0) {
            throw new IllegalArgumentException("kmeansAssign: needs k >= 1 centroids of length b >= 1 (k=" + k
                    + ", b=" + b + ")");
        }
        if (k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("kmeansAssign: k = " + k + " centroids do not fit the int32 indices");
        }
        if (MemorySegment.NULL.equals(sums) != MemorySegment.NULL.equals(counts)) {
            throw new IllegalArgumentException("kmeansAssign: sums and counts must both be given or both be NULL");
        }
        in(v, "v", mul(m, b, F32));
        in(c, "c", mul(k, b, F32));
        out(idx, "idx", mul(m, I32));
        optionalOut(dist2, "dist2", mul(m, F32));
        optionalOut(sums, "sums", mul(k, b, F64));
        optionalOut(counts, "counts", mul(k, I64));
        jvq_kmeans_assign(v, m, c, k, b, idx, dist2, sums, counts);
    }

    @Override
    public void sparseScatter(MemorySegment dst, long row0, long nrows, long cols, MemorySegment flatIdx,
            MemorySegment val, long nnz, MemorySegment rowScale) {
        dims("row0", row0, "nrows", nrows, "cols", cols, "nnz", nnz);
        out(dst, "dst", mul(nrows, cols, F32));
        sparse(flatIdx, val, nnz);
        optionalIn(rowScale, "rowScale", mul(row0 + nrows, F16));
        jvq_sparse_scatter(dst, row0, nrows, cols, flatIdx, val, nnz, rowScale);
    }

    @Override
    public void vqGemv(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment rowScale,
            MemorySegment flatIdx, MemorySegment val, long nnz, MemorySegment x, MemorySegment y, long rows,
            long cols) {
        vqLayout(codes, bits, codebook, k, b, rowScale, flatIdx, val, nnz, rows, cols);
        in(x, "x", mul(cols, F32));
        out(y, "y", mul(rows, F32));
        jvq_vq_gemv(codes, bits, codebook, k, b, rowScale, flatIdx, val, nnz, x, y, rows, cols);
    }

    @Override
    public void vqDequantRows(MemorySegment codes, int bits, MemorySegment codebook, long k, long b,
            MemorySegment rowScale, MemorySegment flatIdx, MemorySegment val, long nnz, MemorySegment dst, long row0,
            long nrows, long cols) {
        dims("row0", row0, "nrows", nrows);
        if (row0 + nrows > Long.MAX_VALUE / Math.max(cols, 1)) {
            throw new IllegalArgumentException("vqDequantRows: row range too large");
        }
        // The layout's row count is only known to be at least row0 + nrows.
        vqLayout(codes, bits, codebook, k, b, rowScale, flatIdx, val, nnz, row0 + nrows, cols);
        out(dst, "dst", mul(nrows, cols, F32));
        jvq_vq_dequant_rows(codes, bits, codebook, k, b, rowScale, flatIdx, val, nnz, dst, row0, nrows, cols);
    }

    @Override
    public void pqGemv(PqLayout layout, MemorySegment x, MemorySegment y) {
        layout.checkAlive();
        in(x, "x", mul(layout.cols, F32));
        out(y, "y", mul(layout.rows, F32));
        check(jvq_pq_gemv(layout.groups(), layout.nativeColStart, layout.nativeCodeBits, layout.nativeCbK,
                layout.nativeCodes, layout.nativeCodebooks, layout.subLength, layout.subspaces, layout.permutation,
                layout.rowScale, x, y, layout.rows, layout.cols), "pqGemv");
    }

    @Override
    public void pqDequantRows(PqLayout layout, MemorySegment dst, long row0, long nrows) {
        dims("row0", row0, "nrows", nrows);
        if (row0 > layout.rows - nrows) {
            throw new IllegalArgumentException("pqDequantRows: rows [" + row0 + ", " + (row0 + nrows)
                    + ") outside the layer's " + layout.rows);
        }
        layout.checkAlive();
        out(dst, "dst", mul(nrows, layout.cols, F32));
        check(jvq_pq_dequant_rows(layout.groups(), layout.nativeColStart, layout.nativeCodeBits, layout.nativeCbK,
                layout.nativeCodes, layout.nativeCodebooks, layout.subLength, layout.subspaces, layout.permutation,
                layout.rowScale, dst, row0, nrows, layout.rows, layout.cols), "pqDequantRows");
    }

    @Override
    public void rtnGemv(MemorySegment codes, int bits, long group, boolean symmetric, MemorySegment scales,
            MemorySegment zeros, MemorySegment x, MemorySegment y, long rows, long cols) {
        rtnLayout(codes, bits, group, symmetric, scales, zeros, rows, cols);
        in(x, "x", mul(cols, F32));
        out(y, "y", mul(rows, F32));
        check(jvq_rtn_gemv(codes, bits, group, symmetric ? 1 : 0, scales, zeros, x, y, rows, cols), "rtnGemv");
    }

    @Override
    public void rtnDequantRows(MemorySegment codes, int bits, long group, boolean symmetric, MemorySegment scales,
            MemorySegment zeros, MemorySegment dst, long row0, long nrows, long cols) {
        dims("row0", row0, "nrows", nrows);
        // The layout's row count is only known to be at least row0 + nrows.
        rtnLayout(codes, bits, group, symmetric, scales, zeros, Math.addExact(row0, nrows), cols);
        out(dst, "dst", mul(nrows, cols, F32));
        check(jvq_rtn_dequant_rows(codes, bits, group, symmetric ? 1 : 0, scales, zeros, dst, row0, nrows, cols),
                "rtnDequantRows");
    }

    /** Checks an RTN layout of rows x cols (shared with CudaBackend): code stream, scales, minima. */
    static void rtnLayout(MemorySegment codes, int bits, long group, boolean symmetric, MemorySegment scales,
            MemorySegment zeros, long rows, long cols) {
        dims("group", group, "rows", rows, "cols", cols);
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("RTN code width must be 2..8 bits: " + bits);
        }
        if (cols == 0) {
            throw new IllegalArgumentException("RTN layer needs cols >= 1");
        }
        long g = group == 0 ? cols : group;
        long groups = mul(rows, Math.ceilDiv(cols, g));
        in(codes, "codes", codeStreamBytes(mul(rows, cols), bits));
        in(scales, "scales", mul(groups, F16));
        if (symmetric) {
            if (zeros == null || !zeros.equals(MemorySegment.NULL)) {
                throw new IllegalArgumentException("zeros: must be MemorySegment.NULL for a symmetric RTN layer");
            }
        } else {
            in(zeros, "zeros", mul(groups, F16));
        }
    }

    @Override
    public void close() {
        // Nothing to release: the library stays loaded for the life of the process.
    }

    // ---- argument checks ----

    /** Bytes of a VQ code stream of {@code vectors} codes at {@code bits} bits, with its 8-byte padding. */
    public static long codeStreamBytes(long vectors, int bits) {
        return SegmentChecks.codeStreamBytes(vectors, bits);
    }

    private static int weightCode(DType wtype) {
        if (wtype.nativeCode < 0) {
            throw new IllegalArgumentException("weights must be F32, F16 or BF16, not " + wtype);
        }
        return wtype.nativeCode;
    }

    private static void check(int status, String op) {
        if (status != 0) {
            throw new IllegalArgumentException(op + ": native kernel rejected its arguments (status " + status + ")");
        }
    }
}
