package dev.jvq.backend;

import static dev.jvq.backend.SegmentChecks.dims;
import static dev.jvq.backend.SegmentChecks.in;
import static dev.jvq.backend.SegmentChecks.isNull;
import static dev.jvq.backend.SegmentChecks.mul;
import static dev.jvq.backend.SegmentChecks.optionalIn;
import static dev.jvq.backend.SegmentChecks.optionalOut;
import static dev.jvq.backend.SegmentChecks.out;
import static dev.jvq.backend.SegmentChecks.sparse;
import static dev.jvq.backend.SegmentChecks.vqLayout;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor;

import dev.jvq.JvqException;
import dev.jvq.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;

/**
 * The {@link Backend} on an NVIDIA GPU: the kernels of cuda/*.cu (embedded fatbins, loaded with
 * cuModuleLoadData, launched with cuLaunchKernel through JCuda's driver API) and cuBLAS SGEMM for the
 * f32 dense products when {@code libcublas.so.12} is present (otherwise the own tiled kernel).
 *
 * <p>Arguments are host segments, as for every backend. Read-only segments are treated as weights
 * and stay cached on the device (see {@link CudaMemory}); everything else is copied in for the call
 * and the outputs copied back before the method returns, so each call is synchronous.
 *
 * <p>Obtain one through {@link Backends#select(String)}, which probes the machine first: this class
 * must not be initialised where {@link CudaProbe} found no device (JCuda's driver classes would fail
 * to link).
 */
public final class CudaBackend implements Backend {

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final String description;
    private final int multiprocessors;
    private final CudaKernels kernels;
    private final CudaMemory memory;
    private final CublasGemm cublas;
    private boolean closed;

    private CudaBackend(CudaProbe.Result probe) {
        check(cuInit(0), "cuInit");
        check(cuDeviceGet(device, 0), "cuDeviceGet");
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        CudaKernels k = null;
        CudaMemory m = null;
        try {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            int[] v = new int[1];
            check(cuDeviceGetAttribute(v, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device),
                    "cuDeviceGetAttribute");
            k = new CudaKernels(v[0]);
            long[] free = new long[1];
            long[] total = new long[1];
            check(cuMemGetInfo(free, total), "cuMemGetInfo");
            m = new CudaMemory((long) (free[0] * 0.8));
        } catch (RuntimeException | Error e) {
            if (k != null) {
                k.close();
            }
            cuDevicePrimaryCtxRelease(device);
            throw e;
        }
        this.kernels = k;
        this.memory = m;
        this.multiprocessors = probe.multiprocessors();
        this.cublas = openCublas();
        this.description = "cuda: " + probe.device()
                + (cublas != null ? ", cuBLAS" : ", own SGEMM kernel (libcublas.so.12 not found)");
    }

    /** Opens device 0. Throws {@link JvqException} (one line) when there is no usable device. */
    public static CudaBackend open() {
        CudaProbe.Result probe = CudaProbe.probe();
        if (!probe.available()) {
            throw new JvqException("CUDA backend unavailable: " + probe.reason());
        }
        try {
            return new CudaBackend(probe);
        } catch (JvqException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new JvqException("CUDA backend could not start on " + probe.device() + ": "
                    + CudaProbe.firstLine(e), e);
        }
    }

    private static CublasGemm openCublas() {
        if (!CudaProbe.libraryLoads("libcublas.so.12")) {
            return null;
        }
        try {
            return new CublasGemm();
        } catch (RuntimeException | LinkageError e) {
            return null; // JCublas natives unusable here: the own kernel computes the same products
        }
    }

    /** Throws on a CUDA driver error; {@code what} names the operation. */
    static void check(int rc, String what) {
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new IllegalStateException("CUDA error in " + what + ": " + CUresult.stringFor(rc) + " (" + rc + ")");
        }
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String describe() {
        return description;
    }

    /** Whether the f32 dense products go to cuBLAS (else the own tiled kernel). */
    public boolean usesCublas() {
        return cublas != null;
    }

    /** Bytes of weights currently cached on the device (for diagnostics and tests). */
    public long cachedWeightBytes() {
        return memory.cachedWeightBytes();
    }

    private CudaMemory.Call begin() {
        if (closed) {
            throw new IllegalStateException("CUDA backend is closed");
        }
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        return memory.call();
    }

    // ---- launch shapes ----

    private static long ceilDiv(long a, long b) {
        return Math.ceilDiv(a, b);
    }

    /** Blocks for a grid-stride loop over `work` items: enough to fill the GPU, no more. */
    private long gridFor(long work, int perBlock, int blocksPerSm) {
        return Math.max(1, Math.min(ceilDiv(work, perBlock), (long) multiprocessors * blocksPerSm));
    }

    private static String suffix(DType t) {
        return switch (t) {
            case F32 -> "f32";
            case F16 -> "f16";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("weights must be F32, F16 or BF16, not " + t);
        };
    }

    // ---- dense linear algebra ----

    @Override
    public void gemv(DType wtype, MemorySegment w, MemorySegment x, MemorySegment y, long rows, long cols) {
        String fn = "jvq_gemv_" + suffix(wtype);
        dims("rows", rows, "cols", cols);
        if (cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("gemv: cols " + cols + " exceeds the GPU kernel's 32-bit row index");
        }
        in(w, "w", mul(rows, cols, wtype.bytes));
        in(x, "x", mul(cols, 4));
        out(y, "y", mul(rows, 4));
        if (rows == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dw = c.weight(w), dx = c.in(x, cols * 4), dy = c.out(y, rows * 4);
            kernels.launch(fn, gridFor(rows, 8, 16), 1, 256, 0, dw, dx, dy, rows, cols);
            c.finish();
        }
    }

    @Override
    public void gemm(DType wtype, MemorySegment w, MemorySegment x, MemorySegment y, long n, long rows, long cols) {
        String fn = "jvq_gemm_" + suffix(wtype);
        dims("n", n, "rows", rows, "cols", cols);
        in(w, "w", mul(rows, cols, wtype.bytes));
        in(x, "x", mul(n, cols, 4));
        out(y, "y", mul(n, rows, 4));
        if (n == 0 || rows == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dw = c.weight(w), dx = c.in(x, n * cols * 4), dy = c.out(y, n * rows * 4);
            if (wtype == DType.F32 && cublas != null && cols > 0 && CublasGemm.fits(n, rows, cols)) {
                cublas.gemmXWt(dw, dx, dy, n, rows, cols);
            } else {
                long chunk = 65535L * 64; // grid.y limit times the tile height
                for (long n0 = 0; n0 < n; n0 += chunk) {
                    long nn = Math.min(chunk, n - n0);
                    kernels.launch(fn, ceilDiv(rows, 64), ceilDiv(nn, 64), 256, 0, dw, dx.withByteOffset(n0 * cols * 4),
                            dy.withByteOffset(n0 * rows * 4), nn, rows, cols);
                }
            }
            c.finish();
        }
    }

    @Override
    public void sgemm(MemorySegment a, MemorySegment b, MemorySegment cm, long m, long n, long k, boolean accumulate) {
        dims("m", m, "n", n, "k", k);
        in(a, "a", mul(m, k, 4));
        in(b, "b", mul(k, n, 4));
        out(cm, "c", mul(m, n, 4));
        if (m == 0 || n == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr da = c.weight(a), db = c.weight(b);
            CUdeviceptr dc = accumulate ? c.inOut(cm, m * n * 4) : c.out(cm, m * n * 4);
            if (cublas != null && k > 0 && CublasGemm.fits(m, n, k)) {
                cublas.sgemm(da, db, dc, m, n, k, accumulate);
            } else {
                long chunk = 65535L * 64;
                for (long m0 = 0; m0 < m; m0 += chunk) {
                    long mm = Math.min(chunk, m - m0);
                    kernels.launch("jvq_sgemm", ceilDiv(n, 64), ceilDiv(mm, 64), 256, 0, da.withByteOffset(m0 * k * 4), db,
                            dc.withByteOffset(m0 * n * 4), mm, n, k, accumulate ? 1 : 0);
                }
            }
            c.finish();
        }
    }

    // ---- transformer element-wise ----

    @Override
    public void rmsnorm(MemorySegment out, MemorySegment x, MemorySegment w, long n, long dim, float eps) {
        dims("n", n, "dim", dim);
        long bytes = mul(n, dim, 4);
        in(x, "x", bytes);
        in(w, "w", mul(dim, 4));
        out(out, "out", bytes);
        if (bytes == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dx = c.in(x, bytes), dout = c.out(out, bytes), dw = c.weight(w);
            kernels.launch("jvq_rmsnorm", Math.min(n, 1L << 20), 1, 256, 0, dout, dx, dw, n, dim, eps);
            c.finish();
        }
    }

    @Override
    public void softmax(MemorySegment x, long n, long len) {
        dims("n", n, "len", len);
        long bytes = mul(n, len, 4);
        out(x, "x", bytes);
        if (bytes == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dx = c.inOut(x, bytes);
            kernels.launch("jvq_softmax", Math.min(n, 1L << 20), 1, 256, 0, dx, n, len);
            c.finish();
        }
    }

    @Override
    public void rope(MemorySegment x, long nTokens, long nHeads, long headDim, MemorySegment pos, MemorySegment invFreq,
            RopeStyle style) {
        dims("nTokens", nTokens, "nHeads", nHeads, "headDim", headDim);
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("rope: headDim must be even: " + headDim);
        }
        long bytes = mul(nTokens, nHeads, headDim * 4);
        out(x, "x", bytes);
        in(pos, "pos", mul(nTokens, 4));
        in(invFreq, "invFreq", mul(headDim / 2, 4));
        if (bytes == 0) {
            return;
        }
        long pairs = nTokens * nHeads * (headDim / 2);
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dx = c.inOut(x, bytes), dp = c.in(pos, nTokens * 4), df = c.weight(invFreq);
            kernels.launch("jvq_rope", gridFor(pairs, 256, 16), 1, 256, 0, dx, nTokens, nHeads, headDim, dp, df,
                    style.nativeCode);
            c.finish();
        }
    }

    @Override
    public void siluMul(MemorySegment gate, MemorySegment up, long n) {
        dims("n", n);
        out(gate, "gate", mul(n, 4));
        in(up, "up", mul(n, 4));
        elementwise("jvq_silu_mul", gate, up, n);
    }

    @Override
    public void add(MemorySegment x, MemorySegment y, long n) {
        dims("n", n);
        out(x, "x", mul(n, 4));
        in(y, "y", mul(n, 4));
        elementwise("jvq_add", x, y, n);
    }

    private void elementwise(String fn, MemorySegment inout, MemorySegment in, long n) {
        if (n == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr a = c.inOut(inout, n * 4), b = c.in(in, n * 4);
            kernels.launch(fn, gridFor(n, 256, 16), 1, 256, 0, a, b, n);
            c.finish();
        }
    }

    @Override
    public void attention(MemorySegment out, MemorySegment q, MemorySegment k, MemorySegment v, long nQ, long qPos0,
            long nHeads, long nKvHeads, long headDim, float scale) {
        dims("nQ", nQ, "qPos0", qPos0, "nHeads", nHeads, "nKvHeads", nKvHeads, "headDim", headDim);
        if (nKvHeads == 0 || nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException(
                    "attention: nHeads (" + nHeads + ") must be a positive multiple of nKvHeads (" + nKvHeads + ")");
        }
        long kvLen = Math.addExact(qPos0, nQ);
        long qBytes = mul(nQ, nHeads, headDim * 4);
        long kvBytes = mul(kvLen, nKvHeads, headDim * 4);
        in(q, "q", qBytes);
        in(k, "k", kvBytes);
        in(v, "v", kvBytes);
        out(out, "out", qBytes);
        if (qBytes == 0) {
            return;
        }
        long blocks = nQ * nHeads;
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("attention: nQ * nHeads = " + blocks + " exceeds one launch");
        }
        int maxSmem = kernels.get("jvq_attention").maxDynamicSmem();
        long smemScores = (headDim + kvLen) * 4;
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dq = c.in(q, qBytes), dk = c.in(k, kvBytes), dv = c.in(v, kvBytes), dout = c.out(out, qBytes);
            CUdeviceptr scores;
            long smem;
            if (smemScores <= maxSmem) {
                scores = new CUdeviceptr(); // NULL: the scores fit in shared memory
                smem = smemScores;
            } else {
                scores = c.temp(mul(blocks, kvLen, 4));
                smem = headDim * 4;
            }
            kernels.launch("jvq_attention", blocks, 1, 128, smem, dout, dq, dk, dv, nQ, qPos0, nHeads, nKvHeads, headDim,
                    scale, scores);
            c.finish();
        }
    }

    // ---- mission kernels ----

    @Override
    public void hessianDiagAccumulate(MemorySegment h, MemorySegment x, long nTokens, long d) {
        dims("nTokens", nTokens, "d", d);
        out(h, "h", mul(d, 8));
        in(x, "x", mul(nTokens, d, 4));
        if (nTokens == 0 || d == 0) {
            return;
        }
        long colBlocks = ceilDiv(d, 256);
        // Split the tokens into chunks only as far as needed to occupy the GPU (each chunk adds atomically).
        long chunks = Math.max(1, Math.min(Math.min(65535, ceilDiv(nTokens, 16)), ceilDiv(multiprocessors * 8L, colBlocks)));
        long perChunk = ceilDiv(nTokens, chunks);
        chunks = ceilDiv(nTokens, perChunk);
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dh = c.inOut(h, d * 8), dx = c.in(x, nTokens * d * 4);
            kernels.launch("jvq_hessian_diag_accumulate", colBlocks, chunks, 256, 0, dh, dx, nTokens, d, perChunk);
            c.finish();
        }
    }

    @Override
    public void kmeansAssign(MemorySegment v, long m, MemorySegment cents, long k, long b, MemorySegment idx,
            MemorySegment dist2, MemorySegment sums, MemorySegment counts) {
        dims("m", m, "k", k, "b", b);
        if (k == 0 || b == 0) {
            throw new IllegalArgumentException("kmeansAssign: needs k >= 1 centroids of length b >= 1 (k=" + k
                    + ", b=" + b + ")");
        }
        if (k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("kmeansAssign: k = " + k + " centroids do not fit the int32 indices");
        }
        if (isNull(sums) != isNull(counts)) {
            throw new IllegalArgumentException("kmeansAssign: sums and counts must both be given or both be NULL");
        }
        in(v, "v", mul(m, b, 4));
        in(cents, "c", mul(k, b, 4));
        out(idx, "idx", mul(m, 4));
        optionalOut(dist2, "dist2", mul(m, 4));
        optionalOut(sums, "sums", mul(k, b, 8));
        optionalOut(counts, "counts", mul(k, 8));
        if (m == 0) {
            return;
        }
        int maxSmem = kernels.get("jvq_kmeans_assign").maxDynamicSmem();
        long tileK = Math.min(k, Math.min(maxSmem, 32 << 10) / (b * 4));
        if (tileK < 1) {
            throw new IllegalArgumentException("kmeansAssign: vectors of " + b + " floats do not fit in GPU shared memory");
        }
        boolean accumulate = !isNull(sums);
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dv = c.in(v, m * b * 4), dc = c.in(cents, k * b * 4), di = c.out(idx, m * 4);
            CUdeviceptr dd = isNull(dist2) ? new CUdeviceptr() : c.out(dist2, m * 4);
            CUdeviceptr ds = accumulate ? c.inOut(sums, k * b * 8) : new CUdeviceptr();
            CUdeviceptr dn = accumulate ? c.inOut(counts, k * 8) : new CUdeviceptr();
            kernels.launch("jvq_kmeans_assign", ceilDiv(m, 256), 1, 256, tileK * b * 4, dv, m, dc, k, b, di, dd, ds, dn,
                    tileK);
            c.finish();
        }
    }

    /** First index in the sorted int32 list whose value is >= key (host-side, on the caller's segment). */
    static long lowerBound(MemorySegment sorted, long n, long key) {
        long lo = 0, hi = n;
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            if (sorted.getAtIndex(I32, mid) < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    @Override
    public void sparseScatter(MemorySegment dst, long row0, long nrows, long cols, MemorySegment flatIdx, MemorySegment val,
            long nnz, MemorySegment rowScale) {
        dims("row0", row0, "nrows", nrows, "cols", cols, "nnz", nnz);
        long bytes = mul(nrows, cols, 4);
        out(dst, "dst", bytes);
        sparse(flatIdx, val, nnz);
        optionalIn(rowScale, "rowScale", mul(Math.addExact(row0, nrows), 2));
        if (nnz == 0 || bytes == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            if (launchScatter(c, c.inOut(dst, bytes), row0, nrows, cols, flatIdx, val, nnz, rowScale)) {
                c.finish();
            }
        }
    }

    /** Adds the residuals of rows [row0, row0+nrows) into the device block; false when there are none. */
    private boolean launchScatter(CudaMemory.Call c, CUdeviceptr ddst, long row0, long nrows, long cols,
            MemorySegment flatIdx, MemorySegment val, long nnz, MemorySegment rowScale) {
        long lo = lowerBound(flatIdx, nnz, row0 * cols);
        long hi = lowerBound(flatIdx, nnz, (row0 + nrows) * cols);
        if (hi == lo) {
            return false;
        }
        long cnt = hi - lo;
        CUdeviceptr di = flatIdx.isReadOnly() ? c.weight(flatIdx).withByteOffset(lo * 4)
                : c.in(flatIdx.asSlice(lo * 4, cnt * 4), cnt * 4);
        CUdeviceptr dv = val.isReadOnly() ? c.weight(val).withByteOffset(lo * 2) : c.in(val.asSlice(lo * 2, cnt * 2), cnt * 2);
        CUdeviceptr ds = c.weight(rowScale);
        kernels.launch("jvq_sparse_scatter", gridFor(cnt, 256, 16), 1, 256, 0, ddst, row0, nrows, cols, di, dv, cnt, ds);
        return true;
    }



    private int codebookInSmem(String fn, long k, long b) {
        return k * b * 2 <= kernels.get(fn).maxDynamicSmem() ? 1 : 0;
    }

    @Override
    public void vqGemv(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment rowScale,
            MemorySegment flatIdx, MemorySegment val, long nnz, MemorySegment x, MemorySegment y, long rows, long cols) {
        vqLayout(codes, bits, codebook, k, b, rowScale, flatIdx, val, nnz, rows, cols);
        in(x, "x", mul(cols, 4));
        out(y, "y", mul(rows, 4));
        if (rows == 0) {
            return;
        }
        int inSmem = codebookInSmem("jvq_vq_gemv", k, b);
        long smem = inSmem == 1 ? k * b * 2 : 0;
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dcodes = c.weight(codes), dcb = c.weight(codebook), ds = c.weight(rowScale);
            CUdeviceptr di = nnz > 0 ? c.weight(flatIdx) : new CUdeviceptr();
            CUdeviceptr dv = nnz > 0 ? c.weight(val) : new CUdeviceptr();
            CUdeviceptr dx = c.in(x, cols * 4), dy = c.out(y, rows * 4);
            long words = ceilDiv(codes.byteSize(), 4); // the device copy is padded past this (CudaMemory.PAD)
            kernels.launch("jvq_vq_gemv", vqGrid("jvq_vq_gemv", rows, smem), 1, 256, smem, dcodes, words, bits, dcb, k, b, ds, di, dv, nnz, dx, dy, rows,
                    cols, inSmem);
            c.finish();
        }
    }

    @Override
    public void vqDequantRows(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment rowScale,
            MemorySegment flatIdx, MemorySegment val, long nnz, MemorySegment dst, long row0, long nrows, long cols) {
        dims("row0", row0, "nrows", nrows);
        if (row0 + nrows > Long.MAX_VALUE / Math.max(cols, 1)) {
            throw new IllegalArgumentException("vqDequantRows: row range too large");
        }
        // The layout's row count is only known to be at least row0 + nrows.
        vqLayout(codes, bits, codebook, k, b, rowScale, flatIdx, val, nnz, row0 + nrows, cols);
        long bytes = mul(nrows, cols, 4);
        out(dst, "dst", bytes);
        if (bytes == 0) {
            return;
        }
        int inSmem = codebookInSmem("jvq_vq_dequant_rows", k, b);
        long smem = inSmem == 1 ? k * b * 2 : 0;
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dcodes = c.weight(codes), dcb = c.weight(codebook), ds = c.weight(rowScale);
            CUdeviceptr di = nnz > 0 ? c.weight(flatIdx) : new CUdeviceptr();
            CUdeviceptr dv = nnz > 0 ? c.weight(val) : new CUdeviceptr();
            CUdeviceptr ddst = c.out(dst, bytes);
            long words = ceilDiv(codes.byteSize(), 4);
            kernels.launch("jvq_vq_dequant_rows", vqGrid("jvq_vq_dequant_rows", nrows, smem), 1, 256, smem, dcodes, words,
                    bits, dcb, k, b, ds, di, dv, nnz, ddst, row0, nrows, cols, inSmem);
            c.finish();
        }
    }

    @Override
    public void rtnGemv(MemorySegment codes, int bits, long group, boolean symmetric, MemorySegment scales,
            MemorySegment zeros, MemorySegment x, MemorySegment y, long rows, long cols) {
        CpuBackend.rtnLayout(codes, bits, group, symmetric, scales, zeros, rows, cols);
        in(x, "x", mul(cols, 4));
        out(y, "y", mul(rows, 4));
        if (rows == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dcodes = c.weight(codes), ds = c.weight(scales);
            CUdeviceptr dz = symmetric ? new CUdeviceptr() : c.weight(zeros);
            CUdeviceptr dx = c.in(x, cols * 4), dy = c.out(y, rows * 4);
            kernels.launch("jvq_rtn_gemv", gridFor(rows, 8, 16), 1, 256, 0, dcodes, bits, group, symmetric ? 1 : 0, ds,
                    dz, dx, dy, rows, cols);
            c.finish();
        }
    }

    @Override
    public void rtnDequantRows(MemorySegment codes, int bits, long group, boolean symmetric, MemorySegment scales,
            MemorySegment zeros, MemorySegment dst, long row0, long nrows, long cols) {
        dims("row0", row0, "nrows", nrows);
        CpuBackend.rtnLayout(codes, bits, group, symmetric, scales, zeros, Math.addExact(row0, nrows), cols);
        long bytes = mul(nrows, cols, 4);
        out(dst, "dst", bytes);
        if (bytes == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dcodes = c.weight(codes), ds = c.weight(scales);
            CUdeviceptr dz = symmetric ? new CUdeviceptr() : c.weight(zeros);
            CUdeviceptr ddst = c.out(dst, bytes);
            kernels.launch("jvq_rtn_dequant_rows", gridFor(nrows * cols, 256, 8), 1, 256, 0, dcodes, bits, group,
                    symmetric ? 1 : 0, ds, dz, ddst, row0, nrows, cols);
            c.finish();
        }
    }

    /**
     * RSAVQ GEMV: one launch of jvq_pq_gemv_group per group (cuda/pq.cu), the groups' partial sums
     * carried between launches in a device buffer in group order, the last launch writing y.
     */
    @Override
    public void pqGemv(PqLayout layout, MemorySegment x, MemorySegment y) {
        layout.checkAlive();
        in(x, "x", mul(layout.cols, 4));
        out(y, "y", mul(layout.rows, 4));
        if (layout.rows == 0) {
            return;
        }
        long t = layout.subVectors();
        int l = layout.subLength;
        long partBytes = 8L * 32 * l * 4; // PQ_WARPS warps x 32 sub-vectors x L partial sums
        int maxSmem = kernels.get("jvq_pq_gemv_group").maxDynamicSmem();
        if (partBytes > maxSmem) {
            throw new IllegalArgumentException("pqGemv: sub-vector length " + l + " needs " + partBytes
                    + " bytes of shared memory, the GPU allows " + maxSmem);
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dperm = c.weight(layout.permutation), ds = c.weight(layout.rowScale);
            CUdeviceptr dx = c.in(x, layout.cols * 4), dy = c.out(y, layout.rows * 4);
            CUdeviceptr acc = c.temp(mul(t, l, 4));
            int groups = layout.groups();
            for (int g = 0; g < groups; g++) {
                long cbBytes = mul(layout.cbK[g], layout.subspaces, l * 2L);
                int inSmem = partBytes + cbBytes <= maxSmem ? 1 : 0;
                long smem = partBytes + (inSmem == 1 ? cbBytes : 0);
                CUdeviceptr dcodes = c.weight(layout.codes[g]), dcb = c.weight(layout.codebooks[g]);
                long words = ceilDiv(layout.codes[g].byteSize(), 4);
                kernels.launch("jvq_pq_gemv_group", ceilDiv(t, 32), 1, 256, smem, dcodes, words, layout.codeBits[g], dcb,
                        (long) layout.cbK[g], l, layout.subspaces, dperm, (long) layout.colStart[g],
                        (long) layout.colStart[g + 1], t, dx, acc, g == 0 ? 1 : 0, g == groups - 1 ? 1 : 0, ds, dy,
                        layout.rows, inSmem);
            }
            c.finish();
        }
    }

    @Override
    public void pqDequantRows(PqLayout layout, MemorySegment dst, long row0, long nrows) {
        dims("row0", row0, "nrows", nrows);
        if (row0 > layout.rows - nrows) {
            throw new IllegalArgumentException("pqDequantRows: rows [" + row0 + ", " + (row0 + nrows)
                    + ") outside the layer's " + layout.rows);
        }
        layout.checkAlive();
        long bytes = mul(nrows, layout.cols, 4);
        out(dst, "dst", bytes);
        if (bytes == 0) {
            return;
        }
        try (CudaMemory.Call c = begin()) {
            CUdeviceptr dperm = c.weight(layout.permutation), ds = c.weight(layout.rowScale);
            CUdeviceptr ddst = c.out(dst, bytes);
            for (int g = 0; g < layout.groups(); g++) {
                CUdeviceptr dcodes = c.weight(layout.codes[g]), dcb = c.weight(layout.codebooks[g]);
                long work = nrows * (layout.colStart[g + 1] - layout.colStart[g]);
                kernels.launch("jvq_pq_dequant_rows_group", gridFor(work, 256, 8), 1, 256, 0, dcodes, layout.codeBits[g],
                        dcb, (long) layout.cbK[g], layout.subLength, layout.subspaces, dperm, (long) layout.colStart[g],
                        (long) layout.colStart[g + 1], layout.subVectors(), ds, ddst, row0, nrows, layout.cols);
            }
            c.finish();
        }
    }

    /** Persistent blocks of 8 row-warps, as many as fit on the GPU at once, so each stages the codebook once. */
    private long vqGrid(String fn, long rows, long smem) {
        int[] perSm = new int[1];
        check(cuOccupancyMaxActiveBlocksPerMultiprocessor(perSm, kernels.get(fn).function(), 256, smem),
                "cuOccupancyMaxActiveBlocksPerMultiprocessor");
        return gridFor(rows, 8, Math.max(1, perSm[0]));
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cuCtxSetCurrent(context);
        if (cublas != null) {
            cublas.close();
        }
        memory.close();
        kernels.close();
        cuDevicePrimaryCtxRelease(device);
    }
}
