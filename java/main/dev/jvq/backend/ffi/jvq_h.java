package dev.jvq.backend.ffi;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * FFM bindings of native/include/jvq.h in the style jextract generates, kept by hand (jextract is not
 * available to this project): the header's constants, and per function a {@code <name>$DESC}
 * {@link FunctionDescriptor}, a method handle created on first use (so this class loads without the
 * library) and a static wrapper with the C name and parameters. Pointers are {@link MemorySegment}s
 * (off-heap; {@link MemorySegment#NULL} for a NULL pointer), {@code int32_t} is {@code int},
 * {@code int64_t} is {@code long}.
 *
 * <p>JvqHeaderBindingTest parses jvq.h and checks every declaration against these descriptors and
 * wrappers; when the header changes, change this file with it. The wrappers do no checking: callers
 * ({@link dev.jvq.backend.CpuBackend}) validate sizes first, since the C side trusts its pointers.
 */
public final class jvq_h {

    private jvq_h() {}

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final ValueLayout.OfDouble C_DOUBLE = ValueLayout.JAVA_DOUBLE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    public static final int JVQ_ABI_VERSION = 1;
    public static final int JVQ_DTYPE_F32 = 0;
    public static final int JVQ_DTYPE_F16 = 1;
    public static final int JVQ_DTYPE_BF16 = 2;
    /** llama2.c / Meta: rotate pairs (2i, 2i+1) */
    public static final int JVQ_ROPE_INTERLEAVED = 0;
    /** Hugging Face: rotate (i, i + head_dim/2) */
    public static final int JVQ_ROPE_HALVES = 1;

    private static MethodHandle downcall(String name, FunctionDescriptor desc) {
        MemorySegment symbol = NativeLibrary.lookup().find(name).orElseThrow(
                () -> new dev.jvq.JvqException(NativeLibrary.source() + ": has no symbol " + name
                        + "; rebuild it with 'make native'"));
        return Linker.nativeLinker().downcallHandle(symbol, desc);
    }

    private static RuntimeException unexpected(String name, Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(name + ": unexpected " + t, t);
    }

    // int32_t jvq_abi_version(void);
    public static final FunctionDescriptor jvq_abi_version$DESC = FunctionDescriptor.of(C_INT);

    private static final class jvq_abi_version$MH {
        static final MethodHandle HANDLE = downcall("jvq_abi_version", jvq_abi_version$DESC);
    }

    public static int jvq_abi_version() {
        try {
            return (int) jvq_abi_version$MH.HANDLE.invokeExact();
        } catch (Throwable t) {
            throw unexpected("jvq_abi_version", t);
        }
    }

    // int32_t jvq_max_threads(void);
    public static final FunctionDescriptor jvq_max_threads$DESC = FunctionDescriptor.of(C_INT);

    private static final class jvq_max_threads$MH {
        static final MethodHandle HANDLE = downcall("jvq_max_threads", jvq_max_threads$DESC);
    }

    public static int jvq_max_threads() {
        try {
            return (int) jvq_max_threads$MH.HANDLE.invokeExact();
        } catch (Throwable t) {
            throw unexpected("jvq_max_threads", t);
        }
    }

    // void jvq_set_num_threads(int32_t n);
    public static final FunctionDescriptor jvq_set_num_threads$DESC = FunctionDescriptor.ofVoid(C_INT);

    private static final class jvq_set_num_threads$MH {
        static final MethodHandle HANDLE = downcall("jvq_set_num_threads", jvq_set_num_threads$DESC);
    }

    public static void jvq_set_num_threads(int n) {
        try {
            jvq_set_num_threads$MH.HANDLE.invokeExact(n);
        } catch (Throwable t) {
            throw unexpected("jvq_set_num_threads", t);
        }
    }

    // const char* jvq_build_info(void);
    public static final FunctionDescriptor jvq_build_info$DESC = FunctionDescriptor.of(C_POINTER);

    private static final class jvq_build_info$MH {
        static final MethodHandle HANDLE = downcall("jvq_build_info", jvq_build_info$DESC);
    }

    public static MemorySegment jvq_build_info() {
        try {
            return (MemorySegment) jvq_build_info$MH.HANDLE.invokeExact();
        } catch (Throwable t) {
            throw unexpected("jvq_build_info", t);
        }
    }

    // void jvq_f16_to_f32(const uint16_t* src, float* dst, int64_t n);
    public static final FunctionDescriptor jvq_f16_to_f32$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG);

    private static final class jvq_f16_to_f32$MH {
        static final MethodHandle HANDLE = downcall("jvq_f16_to_f32", jvq_f16_to_f32$DESC);
    }

    public static void jvq_f16_to_f32(MemorySegment src, MemorySegment dst, long n) {
        try {
            jvq_f16_to_f32$MH.HANDLE.invokeExact(src, dst, n);
        } catch (Throwable t) {
            throw unexpected("jvq_f16_to_f32", t);
        }
    }

    // void jvq_f32_to_f16(const float* src, uint16_t* dst, int64_t n);
    public static final FunctionDescriptor jvq_f32_to_f16$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG);

    private static final class jvq_f32_to_f16$MH {
        static final MethodHandle HANDLE = downcall("jvq_f32_to_f16", jvq_f32_to_f16$DESC);
    }

    public static void jvq_f32_to_f16(MemorySegment src, MemorySegment dst, long n) {
        try {
            jvq_f32_to_f16$MH.HANDLE.invokeExact(src, dst, n);
        } catch (Throwable t) {
            throw unexpected("jvq_f32_to_f16", t);
        }
    }

    // void jvq_bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
    public static final FunctionDescriptor jvq_bf16_to_f32$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG);

    private static final class jvq_bf16_to_f32$MH {
        static final MethodHandle HANDLE = downcall("jvq_bf16_to_f32", jvq_bf16_to_f32$DESC);
    }

    public static void jvq_bf16_to_f32(MemorySegment src, MemorySegment dst, long n) {
        try {
            jvq_bf16_to_f32$MH.HANDLE.invokeExact(src, dst, n);
        } catch (Throwable t) {
            throw unexpected("jvq_bf16_to_f32", t);
        }
    }

    // void jvq_f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
    public static final FunctionDescriptor jvq_f32_to_bf16$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG);

    private static final class jvq_f32_to_bf16$MH {
        static final MethodHandle HANDLE = downcall("jvq_f32_to_bf16", jvq_f32_to_bf16$DESC);
    }

    public static void jvq_f32_to_bf16(MemorySegment src, MemorySegment dst, long n) {
        try {
            jvq_f32_to_bf16$MH.HANDLE.invokeExact(src, dst, n);
        } catch (Throwable t) {
            throw unexpected("jvq_f32_to_bf16", t);
        }
    }

    // int32_t jvq_gemv(int32_t wtype, const void* w, const float* x, float* y, int64_t rows, int64_t cols);
    public static final FunctionDescriptor jvq_gemv$DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG);

    private static final class jvq_gemv$MH {
        static final MethodHandle HANDLE = downcall("jvq_gemv", jvq_gemv$DESC);
    }

    public static int jvq_gemv(int wtype, MemorySegment w, MemorySegment x, MemorySegment y, long rows, long cols) {
        try {
            return (int) jvq_gemv$MH.HANDLE.invokeExact(wtype, w, x, y, rows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_gemv", t);
        }
    }

    // int32_t jvq_gemm(int32_t wtype, const void* w, const float* x, float* y, int64_t n, int64_t rows, int64_t cols);
    public static final FunctionDescriptor jvq_gemm$DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG, C_LONG);

    private static final class jvq_gemm$MH {
        static final MethodHandle HANDLE = downcall("jvq_gemm", jvq_gemm$DESC);
    }

    public static int jvq_gemm(int wtype, MemorySegment w, MemorySegment x, MemorySegment y, long n, long rows, long cols) {
        try {
            return (int) jvq_gemm$MH.HANDLE.invokeExact(wtype, w, x, y, n, rows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_gemm", t);
        }
    }

    // void jvq_sgemm(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t accumulate);
    public static final FunctionDescriptor jvq_sgemm$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG, C_LONG, C_INT);

    private static final class jvq_sgemm$MH {
        static final MethodHandle HANDLE = downcall("jvq_sgemm", jvq_sgemm$DESC);
    }

    public static void jvq_sgemm(MemorySegment a, MemorySegment b, MemorySegment c, long m, long n, long k, int accumulate) {
        try {
            jvq_sgemm$MH.HANDLE.invokeExact(a, b, c, m, n, k, accumulate);
        } catch (Throwable t) {
            throw unexpected("jvq_sgemm", t);
        }
    }

    // void jvq_rmsnorm(float* out, const float* x, const float* w, int64_t n, int64_t dim, float eps);
    public static final FunctionDescriptor jvq_rmsnorm$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG, C_FLOAT);

    private static final class jvq_rmsnorm$MH {
        static final MethodHandle HANDLE = downcall("jvq_rmsnorm", jvq_rmsnorm$DESC);
    }

    public static void jvq_rmsnorm(MemorySegment out, MemorySegment x, MemorySegment w, long n, long dim, float eps) {
        try {
            jvq_rmsnorm$MH.HANDLE.invokeExact(out, x, w, n, dim, eps);
        } catch (Throwable t) {
            throw unexpected("jvq_rmsnorm", t);
        }
    }

    // void jvq_softmax(float* x, int64_t n, int64_t len);
    public static final FunctionDescriptor jvq_softmax$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_LONG, C_LONG);

    private static final class jvq_softmax$MH {
        static final MethodHandle HANDLE = downcall("jvq_softmax", jvq_softmax$DESC);
    }

    public static void jvq_softmax(MemorySegment x, long n, long len) {
        try {
            jvq_softmax$MH.HANDLE.invokeExact(x, n, len);
        } catch (Throwable t) {
            throw unexpected("jvq_softmax", t);
        }
    }

    // void jvq_rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* pos, const float* inv_freq, int32_t style);
    public static final FunctionDescriptor jvq_rope$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_LONG, C_LONG, C_LONG, C_POINTER, C_POINTER, C_INT);

    private static final class jvq_rope$MH {
        static final MethodHandle HANDLE = downcall("jvq_rope", jvq_rope$DESC);
    }

    public static void jvq_rope(MemorySegment x, long n_tokens, long n_heads, long head_dim, MemorySegment pos, MemorySegment inv_freq, int style) {
        try {
            jvq_rope$MH.HANDLE.invokeExact(x, n_tokens, n_heads, head_dim, pos, inv_freq, style);
        } catch (Throwable t) {
            throw unexpected("jvq_rope", t);
        }
    }

    // void jvq_silu_mul(float* gate, const float* up, int64_t n);
    public static final FunctionDescriptor jvq_silu_mul$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG);

    private static final class jvq_silu_mul$MH {
        static final MethodHandle HANDLE = downcall("jvq_silu_mul", jvq_silu_mul$DESC);
    }

    public static void jvq_silu_mul(MemorySegment gate, MemorySegment up, long n) {
        try {
            jvq_silu_mul$MH.HANDLE.invokeExact(gate, up, n);
        } catch (Throwable t) {
            throw unexpected("jvq_silu_mul", t);
        }
    }

    // void jvq_add(float* x, const float* y, int64_t n);
    public static final FunctionDescriptor jvq_add$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG);

    private static final class jvq_add$MH {
        static final MethodHandle HANDLE = downcall("jvq_add", jvq_add$DESC);
    }

    public static void jvq_add(MemorySegment x, MemorySegment y, long n) {
        try {
            jvq_add$MH.HANDLE.invokeExact(x, y, n);
        } catch (Throwable t) {
            throw unexpected("jvq_add", t);
        }
    }

    // void jvq_attention(float* out, const float* q, const float* k, const float* v, int64_t n_q, int64_t q_pos0, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale);
    public static final FunctionDescriptor jvq_attention$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG, C_LONG, C_LONG, C_LONG, C_FLOAT);

    private static final class jvq_attention$MH {
        static final MethodHandle HANDLE = downcall("jvq_attention", jvq_attention$DESC);
    }

    public static void jvq_attention(MemorySegment out, MemorySegment q, MemorySegment k, MemorySegment v, long n_q, long q_pos0, long n_heads, long n_kv_heads, long head_dim, float scale) {
        try {
            jvq_attention$MH.HANDLE.invokeExact(out, q, k, v, n_q, q_pos0, n_heads, n_kv_heads, head_dim, scale);
        } catch (Throwable t) {
            throw unexpected("jvq_attention", t);
        }
    }

    // void jvq_hessian_diag_accumulate(double* h, const float* x, int64_t n_tokens, int64_t d);
    public static final FunctionDescriptor jvq_hessian_diag_accumulate$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG, C_LONG);

    private static final class jvq_hessian_diag_accumulate$MH {
        static final MethodHandle HANDLE = downcall("jvq_hessian_diag_accumulate", jvq_hessian_diag_accumulate$DESC);
    }

    public static void jvq_hessian_diag_accumulate(MemorySegment h, MemorySegment x, long n_tokens, long d) {
        try {
            jvq_hessian_diag_accumulate$MH.HANDLE.invokeExact(h, x, n_tokens, d);
        } catch (Throwable t) {
            throw unexpected("jvq_hessian_diag_accumulate", t);
        }
    }

    // void jvq_kmeans_assign(const float* v, int64_t m, const float* c, int64_t k, int64_t b, int32_t* idx, float* dist2, double* sums, int64_t* counts);
    public static final FunctionDescriptor jvq_kmeans_assign$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_LONG, C_POINTER, C_LONG, C_LONG, C_POINTER, C_POINTER, C_POINTER, C_POINTER);

    private static final class jvq_kmeans_assign$MH {
        static final MethodHandle HANDLE = downcall("jvq_kmeans_assign", jvq_kmeans_assign$DESC);
    }

    public static void jvq_kmeans_assign(MemorySegment v, long m, MemorySegment c, long k, long b, MemorySegment idx, MemorySegment dist2, MemorySegment sums, MemorySegment counts) {
        try {
            jvq_kmeans_assign$MH.HANDLE.invokeExact(v, m, c, k, b, idx, dist2, sums, counts);
        } catch (Throwable t) {
            throw unexpected("jvq_kmeans_assign", t);
        }
    }

    // void jvq_sparse_scatter(float* dst, int64_t row0, int64_t nrows, int64_t cols, const int32_t* flat_idx, const uint16_t* val, int64_t nnz, const uint16_t* row_scale);
    public static final FunctionDescriptor jvq_sparse_scatter$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_LONG, C_LONG, C_LONG, C_POINTER, C_POINTER, C_LONG, C_POINTER);

    private static final class jvq_sparse_scatter$MH {
        static final MethodHandle HANDLE = downcall("jvq_sparse_scatter", jvq_sparse_scatter$DESC);
    }

    public static void jvq_sparse_scatter(MemorySegment dst, long row0, long nrows, long cols, MemorySegment flat_idx, MemorySegment val, long nnz, MemorySegment row_scale) {
        try {
            jvq_sparse_scatter$MH.HANDLE.invokeExact(dst, row0, nrows, cols, flat_idx, val, nnz, row_scale);
        } catch (Throwable t) {
            throw unexpected("jvq_sparse_scatter", t);
        }
    }

    // void jvq_vq_gemv(const uint8_t* codes, int32_t bits, const uint16_t* codebook, int64_t k, int64_t b, const uint16_t* row_scale, const int32_t* flat_idx, const uint16_t* val, int64_t nnz, const float* x, float* y, int64_t rows, int64_t cols);
    public static final FunctionDescriptor jvq_vq_gemv$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_INT, C_POINTER, C_LONG, C_LONG, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_POINTER, C_POINTER, C_LONG, C_LONG);

    private static final class jvq_vq_gemv$MH {
        static final MethodHandle HANDLE = downcall("jvq_vq_gemv", jvq_vq_gemv$DESC);
    }

    public static void jvq_vq_gemv(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment row_scale, MemorySegment flat_idx, MemorySegment val, long nnz, MemorySegment x, MemorySegment y, long rows, long cols) {
        try {
            jvq_vq_gemv$MH.HANDLE.invokeExact(codes, bits, codebook, k, b, row_scale, flat_idx, val, nnz, x, y, rows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_vq_gemv", t);
        }
    }

    // void jvq_vq_dequant_rows(const uint8_t* codes, int32_t bits, const uint16_t* codebook, int64_t k, int64_t b, const uint16_t* row_scale, const int32_t* flat_idx, const uint16_t* val, int64_t nnz, float* dst, int64_t row0, int64_t nrows, int64_t cols);
    public static final FunctionDescriptor jvq_vq_dequant_rows$DESC = FunctionDescriptor.ofVoid(C_POINTER, C_INT, C_POINTER, C_LONG, C_LONG, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_POINTER, C_LONG, C_LONG, C_LONG);

    private static final class jvq_vq_dequant_rows$MH {
        static final MethodHandle HANDLE = downcall("jvq_vq_dequant_rows", jvq_vq_dequant_rows$DESC);
    }

    public static void jvq_vq_dequant_rows(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment row_scale, MemorySegment flat_idx, MemorySegment val, long nnz, MemorySegment dst, long row0, long nrows, long cols) {
        try {
            jvq_vq_dequant_rows$MH.HANDLE.invokeExact(codes, bits, codebook, k, b, row_scale, flat_idx, val, nnz, dst, row0, nrows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_vq_dequant_rows", t);
        }
    }
    // int32_t jvq_rtn_gemv(const uint8_t* codes, int32_t bits, int64_t group, int32_t symmetric, const uint16_t* scales, const uint16_t* zeros, const float* x, float* y, int64_t rows, int64_t cols);
    public static final FunctionDescriptor jvq_rtn_gemv$DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_LONG, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG);

    private static final class jvq_rtn_gemv$MH {
        static final MethodHandle HANDLE = downcall("jvq_rtn_gemv", jvq_rtn_gemv$DESC);
    }

    public static int jvq_rtn_gemv(MemorySegment codes, int bits, long group, int symmetric, MemorySegment scales, MemorySegment zeros, MemorySegment x, MemorySegment y, long rows, long cols) {
        try {
            return (int) jvq_rtn_gemv$MH.HANDLE.invokeExact(codes, bits, group, symmetric, scales, zeros, x, y, rows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_rtn_gemv", t);
        }
    }

    // int32_t jvq_rtn_dequant_rows(const uint8_t* codes, int32_t bits, int64_t group, int32_t symmetric, const uint16_t* scales, const uint16_t* zeros, float* dst, int64_t row0, int64_t nrows, int64_t cols);
    public static final FunctionDescriptor jvq_rtn_dequant_rows$DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT, C_LONG, C_INT, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG, C_LONG);

    private static final class jvq_rtn_dequant_rows$MH {
        static final MethodHandle HANDLE = downcall("jvq_rtn_dequant_rows", jvq_rtn_dequant_rows$DESC);
    }

    public static int jvq_rtn_dequant_rows(MemorySegment codes, int bits, long group, int symmetric, MemorySegment scales, MemorySegment zeros, MemorySegment dst, long row0, long nrows, long cols) {
        try {
            return (int) jvq_rtn_dequant_rows$MH.HANDLE.invokeExact(codes, bits, group, symmetric, scales, zeros, dst, row0, nrows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_rtn_dequant_rows", t);
        }
    }

    // int32_t jvq_pq_gemv(int32_t groups, const int32_t* col_start, const int32_t* code_bits, const int32_t* cb_k, const uint8_t* const* codes, const uint16_t* const* codebooks, int32_t sub_len, int32_t subspaces, const int32_t* perm, const uint16_t* row_scale, const float* x, float* y, int64_t rows, int64_t cols);
    public static final FunctionDescriptor jvq_pq_gemv$DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG);

    private static final class jvq_pq_gemv$MH {
        static final MethodHandle HANDLE = downcall("jvq_pq_gemv", jvq_pq_gemv$DESC);
    }

    public static int jvq_pq_gemv(int groups, MemorySegment col_start, MemorySegment code_bits, MemorySegment cb_k, MemorySegment codes, MemorySegment codebooks, int sub_len, int subspaces, MemorySegment perm, MemorySegment row_scale, MemorySegment x, MemorySegment y, long rows, long cols) {
        try {
            return (int) jvq_pq_gemv$MH.HANDLE.invokeExact(groups, col_start, code_bits, cb_k, codes, codebooks, sub_len, subspaces, perm, row_scale, x, y, rows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_pq_gemv", t);
        }
    }

    // int32_t jvq_pq_dequant_rows(int32_t groups, const int32_t* col_start, const int32_t* code_bits, const int32_t* cb_k, const uint8_t* const* codes, const uint16_t* const* codebooks, int32_t sub_len, int32_t subspaces, const int32_t* perm, const uint16_t* row_scale, float* dst, int64_t row0, int64_t nrows, int64_t rows, int64_t cols);
    public static final FunctionDescriptor jvq_pq_dequant_rows$DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_POINTER, C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_LONG, C_LONG, C_LONG, C_LONG);

    private static final class jvq_pq_dequant_rows$MH {
        static final MethodHandle HANDLE = downcall("jvq_pq_dequant_rows", jvq_pq_dequant_rows$DESC);
    }

    public static int jvq_pq_dequant_rows(int groups, MemorySegment col_start, MemorySegment code_bits, MemorySegment cb_k, MemorySegment codes, MemorySegment codebooks, int sub_len, int subspaces, MemorySegment perm, MemorySegment row_scale, MemorySegment dst, long row0, long nrows, long rows, long cols) {
        try {
            return (int) jvq_pq_dequant_rows$MH.HANDLE.invokeExact(groups, col_start, code_bits, cb_k, codes, codebooks, sub_len, subspaces, perm, row_scale, dst, row0, nrows, rows, cols);
        } catch (Throwable t) {
            throw unexpected("jvq_pq_dequant_rows", t);
        }
    }
}
