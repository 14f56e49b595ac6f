/* Fused VQ-dequant GEMV and row dequantisation (HAS-VQ layout, ALGORITHMS.md section 2):
 *   W_ij = s_i * ( C[code(v)][f mod b] + S_ij [ij in Omega] ),  f = i*cols + j,  v = f / b.
 *
 * The f16 codebook is widened once per call into an f32 table shared by all threads (on the calling
 * thread's stack when it is small, else on the heap). The table has one extra row of NaNs and codes
 * are clamped to it, so a code >= k — a corrupt file — reads NaN instead of memory past the
 * codebook. Each row then walks its codes in order: a partial head vector when the row starts inside
 * a vector (cols % b != 0), whole vectors (specialised for b = 2, 4, 8), a partial tail; then the
 * sorted sparse residuals of the row; then one multiply by the row scale. Threads own contiguous row
 * ranges and find their first residual by binary search. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "jvq_cpu.h"

/* Widened codebooks up to this many floats (K = 2048 codewords of b = 4, plus the NaN row) live on
 * the stack; 32 KiB is safe on any Java thread. */
#define VQ_STACK_FLOATS 8256

typedef struct {
    const uint8_t* codes;
    int32_t bits;
    const float* cb; /* (k + 1) x b f32, row k = NaN */
    int64_t k, b;
} vq_layer;

/* Fills dst[(k + 1) x b]: the widened codebook and a NaN row for out-of-range codes. */
static void widen_codebook(const uint16_t* codebook, int64_t k, int64_t b, float* dst) {
    jvq_f16_to_f32(codebook, dst, k * b);
    for (int64_t d = 0; d < b; d++) dst[k * b + d] = NAN;
}

/* The codeword of vector v (clamped to the NaN row). */
static inline const float* vq_word(const vq_layer* L, int64_t v) {
    uint32_t code = jvq_read_code(L->codes, v, L->bits);
    int64_t c = (int64_t)code < L->k ? (int64_t)code : L->k;
    return L->cb + c * L->b;
}

/* Codeword pointers of the n (2 or 4) consecutive vectors starting at v, from as few unaligned
 * 64-bit loads as possible: after the <= 7-bit shift a word holds 57 useful bits, enough for two
 * codes of up to 24 bits or four of up to 14. */
static inline void vq_words2(const vq_layer* L, int64_t v, const float** w) {
    uint64_t bitpos = (uint64_t)v * (uint64_t)L->bits;
    uint64_t word;
    memcpy(&word, L->codes + (bitpos >> 3), sizeof word);
    word >>= bitpos & 7u;
    uint64_t mask = (1ull << L->bits) - 1ull;
    uint64_t k = (uint64_t)L->k;
    uint64_t c0 = word & mask, c1 = (word >> L->bits) & mask;
    w[0] = L->cb + (int64_t)(c0 < k ? c0 : k) * L->b;
    w[1] = L->cb + (int64_t)(c1 < k ? c1 : k) * L->b;
}

static inline void vq_words4(const vq_layer* L, int64_t v, const float** w) {
    if (L->bits > 14) {
        vq_words2(L, v, w);
        vq_words2(L, v + 2, w + 2);
        return;
    }
    uint64_t bitpos = (uint64_t)v * (uint64_t)L->bits;
    uint64_t word;
    memcpy(&word, L->codes + (bitpos >> 3), sizeof word);
    word >>= bitpos & 7u;
    uint64_t mask = (1ull << L->bits) - 1ull;
    uint64_t k = (uint64_t)L->k;
    for (int t = 0; t < 4; t++) {
        uint64_t c = (word >> (t * L->bits)) & mask;
        w[t] = L->cb + (int64_t)(c < k ? c : k) * L->b;
    }
}

/* Σ_j W_body[i, j] x[j] over row i (before the row scale): codes only. */
static float vq_row_dot(const vq_layer* L, int64_t i, const float* x, int64_t cols) {
    const int64_t b = L->b;
    int64_t f0 = i * cols;
    int64_t v = f0 / b;
    int64_t lane = f0 - v * b;
    int64_t j = 0;
    float acc = 0.0f;
    if (lane != 0) { /* the row starts inside vector v */
        const float* w = vq_word(L, v);
        int64_t n = b - lane < cols ? b - lane : cols;
        for (int64_t t = 0; t < n; t++) acc += w[lane + t] * x[t];
        j = n;
        v++;
    }
#ifdef JVQ_AVX2
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    if (b == 4) {
        for (; j + 16 <= cols; j += 16, v += 4) {
            const float* w[4];
            vq_words4(L, v, w);
            __m256 w01 = _mm256_set_m128(_mm_loadu_ps(w[1]), _mm_loadu_ps(w[0]));
            __m256 w23 = _mm256_set_m128(_mm_loadu_ps(w[3]), _mm_loadu_ps(w[2]));
            a0 = _mm256_fmadd_ps(w01, _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(w23, _mm256_loadu_ps(x + j + 8), a1);
        }
    } else if (b == 2) {
        for (; j + 8 <= cols; j += 8, v += 4) {
            const float* w[4];
            vq_words4(L, v, w);
            __m128 lo = _mm_loadh_pi(_mm_loadl_pi(_mm_setzero_ps(), (const __m64*)w[0]), (const __m64*)w[1]);
            __m128 hi = _mm_loadh_pi(_mm_loadl_pi(_mm_setzero_ps(), (const __m64*)w[2]), (const __m64*)w[3]);
            a0 = _mm256_fmadd_ps(_mm256_set_m128(hi, lo), _mm256_loadu_ps(x + j), a0);
        }
    } else if (b == 8) {
        for (; j + 16 <= cols; j += 16, v += 2) {
            const float* w[2];
            vq_words2(L, v, w);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w[0]), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w[1]), _mm256_loadu_ps(x + j + 8), a1);
        }
    } else if (b > 8) {
        for (; j + b <= cols; j += b, v++) {
            const float* w = vq_word(L, v);
            int64_t t = 0;
            for (; t + 8 <= b; t += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + t), _mm256_loadu_ps(x + j + t), a0);
            for (; t < b; t++) acc += w[t] * x[j + t];
        }
    }
    acc += jvq_hsum256(_mm256_add_ps(a0, a1));
#endif
    for (; j + b <= cols; j += b, v++) { /* remaining whole vectors (and every b without a fast path) */
        const float* w = vq_word(L, v);
        for (int64_t t = 0; t < b; t++) acc += w[t] * x[j + t];
    }
    if (j < cols) { /* the row ends inside vector v */
        const float* w = vq_word(L, v);
        for (int64_t t = 0; j + t < cols; t++) acc += w[t] * x[j + t];
    }
    return acc;
}

/* Widens the codebook into stack_buf or a heap buffer (*heap, to be freed); NULL if out of memory. */
static float* codebook_table(const uint16_t* codebook, int64_t k, int64_t b, float* stack_buf, float** heap) {
    int64_t need = (k + 1) * b;
    float* t = stack_buf;
    *heap = NULL;
    if (need > VQ_STACK_FLOATS) {
        *heap = (float*)malloc((size_t)need * sizeof(float));
        if (!*heap) return NULL;
        t = *heap;
    }
    widen_codebook(codebook, k, b, t);
    return t;
}

void jvq_vq_gemv(const uint8_t* codes, int32_t bits, const uint16_t* codebook, int64_t k, int64_t b,
                 const uint16_t* row_scale, const int32_t* flat_idx, const uint16_t* val, int64_t nnz,
                 const float* x, float* y, int64_t rows, int64_t cols) {
    if (rows <= 0) return;
    _Alignas(32) float stack_buf[VQ_STACK_FLOATS];
    float* heap;
    float* cb = codebook_table(codebook, k, b, stack_buf, &heap);
    if (!cb) { /* no memory for the table: say so in the output rather than crash */
        for (int64_t i = 0; i < rows; i++) y[i] = NAN;
        return;
    }
    vq_layer L = {codes, bits, cb, k, b};
    int nt = jvq_threads_for(rows * cols * 4);
    if (nt > rows) nt = (int)rows;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t r0, r1;
        jvq_split(rows, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
        int64_t p = nnz > 0 ? jvq_lower_bound_i32(flat_idx, nnz, r0 * cols) : 0;
        for (int64_t i = r0; i < r1; i++) {
            float acc = vq_row_dot(&L, i, x, cols);
            int64_t lo = i * cols, hi = lo + cols;
            float sparse = 0.0f;
            for (; p < nnz && flat_idx[p] < hi; p++) {
                if (flat_idx[p] >= lo) sparse += jvq_f16_to_float(val[p]) * x[flat_idx[p] - lo];
            }
            float s = row_scale ? jvq_f16_to_float(row_scale[i]) : 1.0f;
            y[i] = s * (acc + sparse);
        }
    }
    free(heap);
}

void jvq_vq_dequant_rows(const uint8_t* codes, int32_t bits, const uint16_t* codebook, int64_t k, int64_t b,
                         const uint16_t* row_scale, const int32_t* flat_idx, const uint16_t* val, int64_t nnz,
                         float* dst, int64_t row0, int64_t nrows, int64_t cols) {
    if (nrows <= 0 || cols <= 0) return;
    _Alignas(32) float stack_buf[VQ_STACK_FLOATS];
    float* heap;
    float* cb = codebook_table(codebook, k, b, stack_buf, &heap);
    if (!cb) {
        for (int64_t e = 0; e < nrows * cols; e++) dst[e] = NAN;
        return;
    }
    vq_layer L = {codes, bits, cb, k, b};
    int nt = jvq_threads_for(nrows * cols * 2);
    if (nt > nrows) nt = (int)nrows;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t q0, q1;
        jvq_split(nrows, omp_get_thread_num(), omp_get_num_threads(), &q0, &q1);
        int64_t p = nnz > 0 ? jvq_lower_bound_i32(flat_idx, nnz, (row0 + q0) * cols) : 0;
        for (int64_t q = q0; q < q1; q++) {
            int64_t i = row0 + q;
            float* out = dst + q * cols;
            int64_t f0 = i * cols;
            /* Body: a partial head vector when the row starts inside one, whole vectors, a partial tail. */
            int64_t v = f0 / b, lane = f0 - v * b, j = 0;
            if (lane != 0) {
                const float* w = vq_word(&L, v++);
                for (; lane < b && j < cols; lane++) out[j++] = w[lane];
            }
            if (b == 4) {
                for (; j + 8 <= cols; j += 8, v += 2) {
                    const float* w[2];
                    vq_words2(&L, v, w);
                    memcpy(out + j, w[0], 4 * sizeof(float));
                    memcpy(out + j + 4, w[1], 4 * sizeof(float));
                }
            }
            for (; j + b <= cols; j += b) memcpy(out + j, vq_word(&L, v++), (size_t)b * sizeof(float));
            if (j < cols) memcpy(out + j, vq_word(&L, v), (size_t)(cols - j) * sizeof(float));
            int64_t hi = f0 + cols;
            for (; p < nnz && flat_idx[p] < hi; p++) {
                if (flat_idx[p] >= f0) out[flat_idx[p] - f0] += jvq_f16_to_float(val[p]);
            }
            jvq_scale_f32(out, row_scale ? jvq_f16_to_float(row_scale[i]) : 1.0f, cols);
        }
    }
    free(heap);
}
