/*
 * jvq.h — the C ABI between Java (FFM bindings in dev.jvq.backend.ffi.jvq_h) and the native CPU
 * kernels in native/src. Every function here has a hand-kept binding; JvqHeaderBindingTest parses
 * this file and checks that each declared function has a binding with a matching signature, so
 * keep every declaration on one line of the form  `<type> <name>(<params>);`.
 *
 * Conventions
 *  - Matrices are row-major. A weight W is rows x cols (d_out x d_in): y = W x.
 *  - Activations are f32. Weights are f32, f16 or bf16 (JVQ_DTYPE_*), passed as raw bytes.
 *  - Sizes are int64_t. Pointers that may be NULL say so.
 *  - Functions never allocate memory the caller must free and never print. They return void, or
 *    a status (0 = ok, negative = invalid argument) where input can be invalid.
 *  - Threading: kernels use OpenMP; jvq_set_num_threads bounds it (0 = all cores).
 *  - The per-element arithmetic is in jvq_math.h, shared with the CUDA kernels in cuda/.
 */
#ifndef JVQ_H
#define JVQ_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JVQ_ABI_VERSION 1

#define JVQ_DTYPE_F32 0
#define JVQ_DTYPE_F16 1
#define JVQ_DTYPE_BF16 2

#define JVQ_ROPE_INTERLEAVED 0 /* llama2.c / Meta: rotate pairs (2i, 2i+1) */
#define JVQ_ROPE_HALVES 1      /* Hugging Face: rotate (i, i + head_dim/2) */

/* ---- housekeeping ---- */
int32_t jvq_abi_version(void);
int32_t jvq_max_threads(void);
void jvq_set_num_threads(int32_t n);
/* One line naming compiler and vector ISA the library was built for (e.g. "gcc 12.2 avx512f"). */
const char* jvq_build_info(void);

/* ---- dtype conversion ---- */
void jvq_f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void jvq_f32_to_f16(const float* src, uint16_t* dst, int64_t n);
void jvq_bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
void jvq_f32_to_bf16(const float* src, uint16_t* dst, int64_t n);

/* ---- dense linear algebra ---- */
/* y[rows] = W[rows x cols] x[cols]; W of dtype wtype. Returns 0, or -1 for an unknown dtype. */
int32_t jvq_gemv(int32_t wtype, const void* w, const float* x, float* y, int64_t rows, int64_t cols);
/* Y[n x rows] = X[n x cols] W^T (each of the n input rows multiplied by W). Returns 0 or -1. */
int32_t jvq_gemm(int32_t wtype, const void* w, const float* x, float* y, int64_t n, int64_t rows, int64_t cols);
/* C[m x n] (+)= A[m x k] B[k x n], all f32 row-major; accumulate != 0 adds to C. */
void jvq_sgemm(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t accumulate);

/* ---- transformer element-wise ---- */
/* out[i,:] = x[i,:] / sqrt(mean(x[i,:]^2) + eps) * w, for n rows of length dim. out may equal x. */
void jvq_rmsnorm(float* out, const float* x, const float* w, int64_t n, int64_t dim, float eps);
/* In-place softmax of each of n rows of length len (max-subtracted). */
void jvq_softmax(float* x, int64_t n, int64_t len);
/* In-place rotary embedding of x[n_tokens x n_heads x head_dim] at positions pos[n_tokens];
 * inv_freq[head_dim/2] are the per-pair frequencies (so Llama-3 scaling is the caller's); style is
 * JVQ_ROPE_INTERLEAVED or JVQ_ROPE_HALVES. */
void jvq_rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* pos, const float* inv_freq, int32_t style);
/* gate[i] = silu(gate[i]) * up[i] for n elements. */
void jvq_silu_mul(float* gate, const float* up, int64_t n);
/* x[i] += y[i] for n elements (residual connections). */
void jvq_add(float* x, const float* y, int64_t n);
/* Causal grouped-query attention for n_q queries at absolute positions q_pos0 .. q_pos0+n_q-1:
 * q is [n_q x n_heads x head_dim], k and v are caches [>= q_pos0+n_q rows x n_kv_heads x head_dim]
 * holding every position up to the last query; query head h reads KV head h / (n_heads/n_kv_heads).
 * out[t, h, :] = softmax_j<=q_pos0+t (scale * q[t,h]·k[j,g]) · v[j,g], f32 with max subtraction. */
void jvq_attention(float* out, const float* q, const float* k, const float* v, int64_t n_q, int64_t q_pos0, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale);

/* ---- mission kernels ---- */
/* h[j] += sum_t x[t,j]^2 over t < n_tokens, for a d-wide activation block (float64 accumulators). */
void jvq_hessian_diag_accumulate(double* h, const float* x, int64_t n_tokens, int64_t d);
/* For each of m vectors v[i] (length b) the nearest of k centroids c (Euclidean): idx[i], and its
 * squared distance into dist2[i] (NULL = not wanted). When sums != NULL (k x b, float64) and
 * counts != NULL (k) the vectors are added to their centroid's sum and counted (accumulated, not
 * cleared). Ties go to the lowest index. */
void jvq_kmeans_assign(const float* v, int64_t m, const float* c, int64_t k, int64_t b, int32_t* idx, float* dist2, double* sums, int64_t* counts);
/* Adds the sparse residuals whose flat index f (row-major in a rows x cols matrix; sorted
 * ascending) lies in rows [row0, row0 + nrows) into dst[(f / cols - row0) * cols + f % cols],
 * multiplied by row_scale[f / cols] when row_scale (f16, length rows) is not NULL. val is f16. */
void jvq_sparse_scatter(float* dst, int64_t row0, int64_t nrows, int64_t cols, const int32_t* flat_idx, const uint16_t* val, int64_t nnz, const uint16_t* row_scale);
/* Fused VQ-dequant GEMV (HAS-VQ layout, ALGORITHMS.md section 2):
 *   y[i] = s[i] * ( sum_j C[code(v(i,j))][(i*cols + j) mod b] * x[j]  +  sum_{(i,j) in Omega} S_ij x[j] )
 * codes: the M = ceil(rows*cols/b) codeword indices, bit-packed LSB-first at `bits` bits each into a
 * little-endian byte stream (padded with at least 8 zero bytes); codebook: k x b f16; row_scale: rows
 * f16; flat_idx/val: nnz sorted sparse residuals (f16 values), may be NULL when nnz == 0. */
void jvq_vq_gemv(const uint8_t* codes, int32_t bits, const uint16_t* codebook, int64_t k, int64_t b, const uint16_t* row_scale, const int32_t* flat_idx, const uint16_t* val, int64_t nnz, const float* x, float* y, int64_t rows, int64_t cols);
/* Dequantises rows [row0, row0 + nrows) of the same layout into dst (nrows x cols f32). */
void jvq_vq_dequant_rows(const uint8_t* codes, int32_t bits, const uint16_t* codebook, int64_t k, int64_t b, const uint16_t* row_scale, const int32_t* flat_idx, const uint16_t* val, int64_t nnz, float* dst, int64_t row0, int64_t nrows, int64_t cols);

/* Fused RTN-dequant GEMV (layout: FORMAT.md, dev.jvq.quant.RtnLinear): codes are unsigned, `bits`
 * (2..8) wide, packed LSB-first row-major over the rows x cols matrix (padded with >= 8 zero bytes);
 * each row has G = ceil(cols / g) groups of g = group columns (group 0: one group per row; the last
 * may be short) with an f16 scale in scales[row * G + q] and, when asymmetric, an f16 minimum in
 * zeros[row * G + q] (NULL when symmetric). Symmetric w = s * (u - (2^(bits-1) - 1)), asymmetric
 * w = lo + u * s. y[rows] = W x. Returns 0, or -1 for bad bits/group/sizes. */
int32_t jvq_rtn_gemv(const uint8_t* codes, int32_t bits, int64_t group, int32_t symmetric, const uint16_t* scales, const uint16_t* zeros, const float* x, float* y, int64_t rows, int64_t cols);
/* Dequantises rows [row0, row0 + nrows) of the same layout into dst (nrows x cols f32), bit for bit
 * as RtnLinear.dequantizeRows (f32 product, then sum; no fused multiply-add). Returns 0 or -1. */
int32_t jvq_rtn_dequant_rows(const uint8_t* codes, int32_t bits, int64_t group, int32_t symmetric, const uint16_t* scales, const uint16_t* zeros, float* dst, int64_t row0, int64_t nrows, int64_t cols);

/* Fused PQ-dequant GEMV (RSAVQ layout, dev.jvq.quant.RsavqLinear / PqGroup): y = diag(s) W x with
 *   W[r, perm[j]] = s_r * CB_g[(t mod subspaces) * k_g + code_g(j, t)][r - t * sub_len],  t = r / sub_len,
 * for stored column j in group g (col_start[g] <= j < col_start[g+1]; col_start has groups + 1
 * entries, 0 .. cols ascending). Group g: codes[g] holds (col_start[g+1] - col_start[g]) * T codes,
 * T = ceil(rows / sub_len), code (j - col_start[g]) * T + t, code_bits[g] (1..24) bits each, packed
 * LSB-first (padded with >= 8 zero bytes); codebooks[g] is subspaces * cb_k[g] codewords of sub_len f16
 * values (table s = codewords [s * k, (s+1) * k)); a code >= k reads NaN. perm: cols int32, a permutation
 * of 0..cols-1; row_scale: rows f16 or NULL (= 1). x is in original column order. Returns 0, or -1
 * for bad arguments. */
int32_t jvq_pq_gemv(int32_t groups, const int32_t* col_start, const int32_t* code_bits, const int32_t* cb_k, const uint8_t* const* codes, const uint16_t* const* codebooks, int32_t sub_len, int32_t subspaces, const int32_t* perm, const uint16_t* row_scale, const float* x, float* y, int64_t rows, int64_t cols);
/* Dequantises rows [row0, row0 + nrows) of the same layout (rows x cols in all: rows fixes T) into dst
 * (nrows x cols f32, original column order), bit for bit as RsavqLinear.dequantizeInJava (codeword value,
 * then times s_r in f32). Returns 0, or -1 for bad arguments. */
int32_t jvq_pq_dequant_rows(int32_t groups, const int32_t* col_start, const int32_t* code_bits, const int32_t* cb_k, const uint8_t* const* codes, const uint16_t* const* codebooks, int32_t sub_len, int32_t subspaces, const int32_t* perm, const uint16_t* row_scale, float* dst, int64_t row0, int64_t nrows, int64_t rows, int64_t cols);

#ifdef __cplusplus
}
#endif
#endif /* JVQ_H */
