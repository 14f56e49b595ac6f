/* Fused PQ-dequant GEMV and row dequantisation (RSAVQ layout, jvq.h / dev.jvq.quant.RsavqLinear).
 *
 * Codes run down the stored columns (column-major per group), so the GEMV walks column by column
 * and scatters x'[j] · codeword into a block of output rows: y_t += x'[j] · CB[t mod S][code(j, t)].
 * x is gathered into stored-column order once per call (x'[j] = x[perm[j]]), and every group's f16
 * codebook is widened once per call into one shared f32 table with a trailing NaN word that
 * out-of-range codes (a corrupt file) are pointed at instead of memory past the codebook.
 *
 * Threads own contiguous ranges of sub-vectors (hence of rows) and keep their partial sums in a
 * private buffer; every output element is summed over columns in stored order with fused
 * multiply-adds, so the result is bit-identical for any thread count. Four columns of a group are
 * taken at once so a sub-vector's partial sums stay in registers across them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "jvq_cpu.h"

typedef struct {
    int32_t groups, sub_len, subspaces;
    const int32_t* col_start;
    const int32_t* code_bits;
    const int32_t* cb_k;
    const uint8_t* const* codes;
    float* cb;          /* widened codebooks, one after the other */
    int64_t* cb_off;    /* float offset of group g's table in cb */
    int64_t T;          /* sub-vectors down a column */
} pq_layer;

/* 0 if the layout arguments are sane for a rows x cols layer, -1 otherwise. */
static int pq_check(int32_t groups, const int32_t* col_start, const int32_t* code_bits, const int32_t* cb_k,
                    const uint8_t* const* codes, const uint16_t* const* codebooks, int32_t sub_len,
                    int32_t subspaces, const int32_t* perm, int64_t rows, int64_t cols) {
    if (groups < 1 || !col_start || !code_bits || !cb_k || !codes || !codebooks || !perm) return -1;
    if (sub_len < 1 || subspaces < 1 || rows < 0 || cols < 1 || cols > INT32_MAX) return -1;
    if (col_start[0] != 0 || col_start[groups] != cols) return -1;
    for (int32_t g = 0; g < groups; g++) {
        if (col_start[g + 1] <= col_start[g]) return -1;
        if (code_bits[g] < 1 || code_bits[g] > 24 || cb_k[g] < 1) return -1;
        /* the widened table must stay addressable: S * k * L well inside int64 and a sane allocation */
        if ((int64_t)cb_k[g] * subspaces > ((int64_t)1 << 32) / sub_len) return -1;
        if (!codes[g] || !codebooks[g]) return -1;
    }
    for (int64_t j = 0; j < cols; j++) {
        if (perm[j] < 0 || perm[j] >= cols) return -1;
    }
    return 0;
}

/* Widens every group's codebook (plus one NaN word each) into one heap table; -1 without memory. */
static int pq_widen(pq_layer* L, const uint16_t* const* codebooks) {
    int64_t total = 0;
    L->cb_off = (int64_t*)malloc((size_t)L->groups * sizeof(int64_t));
    if (!L->cb_off) return -1;
    for (int32_t g = 0; g < L->groups; g++) {
        L->cb_off[g] = total;
        total += ((int64_t)L->subspaces * L->cb_k[g] + 1) * L->sub_len;
    }
    L->cb = (float*)malloc((size_t)total * sizeof(float));
    if (!L->cb) {
        free(L->cb_off);
        return -1;
    }
    for (int32_t g = 0; g < L->groups; g++) {
        int64_t n = (int64_t)L->subspaces * L->cb_k[g] * L->sub_len;
        float* t = L->cb + L->cb_off[g];
        jvq_f16_to_f32(codebooks[g], t, n);
        for (int32_t d = 0; d < L->sub_len; d++) t[n + d] = NAN;
    }
    return 0;
}

static void pq_free(pq_layer* L) {
    free(L->cb);
    free(L->cb_off);
}

/* acc[(t - t0) * L + d] += x'[j] · word(j, t)[d] for sub-vectors [t0, t1) and the group's columns
 * [c0, c1), four columns at a time. L is a compile-time constant in the specialised callers. */
static inline __attribute__((always_inline)) void pq_group_range(const pq_layer* P, int32_t g, const float* xp,
                                                                 float* acc, int64_t t0, int64_t t1, const int L) {
    const int64_t T = P->T, k = P->cb_k[g];
    const int32_t bits = P->code_bits[g], S = P->subspaces;
    const uint8_t* codes = P->codes[g];
    const float* cb = P->cb + P->cb_off[g];
    const float* nan_word = cb + (int64_t)S * k * L;
    const int64_t c0 = P->col_start[g], c1 = P->col_start[g + 1];
    int64_t j = c0;
#ifdef JVQ_AVX2
    if (L == 4 || L == 2) {
        /* Several sub-vectors' partial sums side by side in one 256-bit register (2 of L = 4, 4 of
         * L = 2), four columns at a time: per lane the same fused multiply-adds in the same column
         * order as the scalar loops, so the result does not depend on where a thread's range starts. */
        const int64_t per = 8 / L; /* sub-vectors per register */
        for (; j + 4 <= c1; j += 4) {
            __m256 xv[4];
            for (int c = 0; c < 4; c++) xv[c] = _mm256_set1_ps(xp[j + c]);
            const int64_t b0 = (j - c0) * T;
            int64_t t = t0;
            int64_t table = t0 % S; /* subspace of sub-vector t, stepped instead of divided */
            for (; t + per <= t1; t += per) {
                const float* tb[4];
                for (int64_t u = 0; u < per; u++) {
                    tb[u] = cb + table * k * L;
                    if (++table == S) table = 0;
                }
                __m256 a = _mm256_loadu_ps(acc + (t - t0) * L);
                for (int c = 0; c < 4; c++) {
                    const int64_t base = b0 + c * T;
                    const float* w[4];
                    if (per * bits <= 57) { /* all `per` codes in one 64-bit read (shift <= 7) */
                        uint64_t bitpos = (uint64_t)(base + t) * (uint64_t)bits, word;
                        memcpy(&word, codes + (bitpos >> 3), sizeof word);
                        word >>= bitpos & 7u;
                        const uint64_t mask = (1ull << bits) - 1ull;
                        for (int64_t u = 0; u < per; u++) {
                            uint64_t q = (word >> (u * bits)) & mask;
                            w[u] = (int64_t)q < k ? tb[u] + (int64_t)q * L : nan_word;
                        }
                    } else {
                        for (int64_t u = 0; u < per; u++) {
                            uint32_t q = jvq_read_code(codes, base + t + u, bits);
                            w[u] = (int64_t)q < k ? tb[u] + (int64_t)q * L : nan_word;
                        }
                    }
                    __m256 wv;
                    if (L == 4) {
                        wv = _mm256_set_m128(_mm_loadu_ps(w[1]), _mm_loadu_ps(w[0]));
                    } else {
                        __m128 lo = _mm_loadh_pi(_mm_loadl_pi(_mm_setzero_ps(), (const __m64*)w[0]), (const __m64*)w[1]);
                        __m128 hi = _mm_loadh_pi(_mm_loadl_pi(_mm_setzero_ps(), (const __m64*)w[2]), (const __m64*)w[3]);
                        wv = _mm256_set_m128(hi, lo);
                    }
                    a = _mm256_fmadd_ps(xv[c], wv, a);
                }
                _mm256_storeu_ps(acc + (t - t0) * L, a);
            }
            for (; t < t1; t++) { /* the range's last sub-vectors */
                float* a = acc + (t - t0) * L;
                const int64_t table = (t % S) * k;
                for (int c = 0; c < 4; c++) {
                    uint32_t q = jvq_read_code(codes, b0 + c * T + t, bits);
                    const float* w = (int64_t)q < k ? cb + (table + (int64_t)q) * L : nan_word;
                    for (int d = 0; d < L; d++) a[d] = fmaf(xp[j + c], w[d], a[d]);
                }
            }
        }
    }
#endif
    for (; j + 4 <= c1; j += 4) {
        const float x0 = xp[j], x1 = xp[j + 1], x2 = xp[j + 2], x3 = xp[j + 3];
        const int64_t b0 = (j - c0) * T;
        int64_t table = t0 % S;
        for (int64_t t = t0; t < t1; t++) {
            uint32_t q0 = jvq_read_code(codes, b0 + t, bits), q1 = jvq_read_code(codes, b0 + T + t, bits);
            uint32_t q2 = jvq_read_code(codes, b0 + 2 * T + t, bits), q3 = jvq_read_code(codes, b0 + 3 * T + t, bits);
            const float* tb = cb + table * k * L;
            const float* w0 = (int64_t)q0 < k ? tb + (int64_t)q0 * L : nan_word;
            const float* w1 = (int64_t)q1 < k ? tb + (int64_t)q1 * L : nan_word;
            const float* w2 = (int64_t)q2 < k ? tb + (int64_t)q2 * L : nan_word;
            const float* w3 = (int64_t)q3 < k ? tb + (int64_t)q3 * L : nan_word;
            float* a = acc + (t - t0) * L;
            for (int d = 0; d < L; d++) {
                float s = a[d];
                s = fmaf(x0, w0[d], s);
                s = fmaf(x1, w1[d], s);
                s = fmaf(x2, w2[d], s);
                s = fmaf(x3, w3[d], s);
                a[d] = s;
            }
            if (++table == S) table = 0;
        }
    }
    for (; j < c1; j++) {
        const float x0 = xp[j];
        const int64_t b0 = (j - c0) * T;
        int64_t table = t0 % S;
        for (int64_t t = t0; t < t1; t++) {
            uint32_t q0 = jvq_read_code(codes, b0 + t, bits);
            const float* w0 = (int64_t)q0 < k ? cb + (table * k + (int64_t)q0) * L : nan_word;
            float* a = acc + (t - t0) * L;
            for (int d = 0; d < L; d++) a[d] = fmaf(x0, w0[d], a[d]);
            if (++table == S) table = 0;
        }
    }
}

static void pq_range_l1(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_group_range(P, g, xp, acc, t0, t1, 1);
}
static void pq_range_l2(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_group_range(P, g, xp, acc, t0, t1, 2);
}
static void pq_range_l3(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_group_range(P, g, xp, acc, t0, t1, 3);
}
static void pq_range_l4(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_group_range(P, g, xp, acc, t0, t1, 4);
}
static void pq_range_l8(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_group_range(P, g, xp, acc, t0, t1, 8);
}
static void pq_range_any(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_group_range(P, g, xp, acc, t0, t1, P->sub_len);
}

int32_t jvq_pq_gemv(int32_t groups, const int32_t* col_start, const int32_t* code_bits, const int32_t* cb_k,
                    const uint8_t* const* codes, const uint16_t* const* codebooks, int32_t sub_len,
                    int32_t subspaces, const int32_t* perm, const uint16_t* row_scale, const float* x, float* y,
                    int64_t rows, int64_t cols) {
    if (pq_check(groups, col_start, code_bits, cb_k, codes, codebooks, sub_len, subspaces, perm, rows, cols) != 0
        || !x || !y) {
        return -1;
    }
    if (rows == 0) return 0;
    pq_layer P = {groups, sub_len, subspaces, col_start, code_bits, cb_k, codes, NULL, NULL,
                  (rows + sub_len - 1) / sub_len};
    float* xp = (float*)malloc((size_t)cols * sizeof(float));
    if (!xp || pq_widen(&P, codebooks) != 0) { /* no memory: say so in the output rather than crash */
        free(xp);
        for (int64_t i = 0; i < rows; i++) y[i] = NAN;
        return 0;
    }
    for (int64_t j = 0; j < cols; j++) xp[j] = x[perm[j]];
    void (*range)(const pq_layer*, int32_t, const float*, float*, int64_t, int64_t) =
        sub_len == 1 ? pq_range_l1 : sub_len == 2 ? pq_range_l2 : sub_len == 3 ? pq_range_l3
        : sub_len == 4 ? pq_range_l4 : sub_len == 8 ? pq_range_l8 : pq_range_any;
    const int64_t T = P.T;
    int nt = jvq_threads_for(rows * cols);
    if (nt > T) nt = (int)T;
    int failed = 0;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : failed)
    {
        int64_t t0, t1;
        jvq_split(T, omp_get_thread_num(), omp_get_num_threads(), &t0, &t1);
        if (t1 > t0) {
            float* acc = (float*)calloc((size_t)((t1 - t0) * sub_len), sizeof(float));
            if (!acc) {
                failed = 1;
            } else {
                for (int32_t g = 0; g < groups; g++) range(&P, g, xp, acc, t0, t1);
                int64_t r0 = t0 * sub_len, r1 = t1 * sub_len < rows ? t1 * sub_len : rows;
                for (int64_t r = r0; r < r1; r++) {
                    float s = row_scale ? jvq_f16_to_float(row_scale[r]) : 1.0f;
                    y[r] = s * acc[r - r0];
                }
                free(acc);
            }
        }
    }
    if (failed) {
        for (int64_t i = 0; i < rows; i++) y[i] = NAN;
    }
    pq_free(&P);
    free(xp);
    return 0;
}

int32_t jvq_pq_dequant_rows(int32_t groups, const int32_t* col_start, const int32_t* code_bits, const int32_t* cb_k,
                            const uint8_t* const* codes, const uint16_t* const* codebooks, int32_t sub_len,
                            int32_t subspaces, const int32_t* perm, const uint16_t* row_scale, float* dst,
                            int64_t row0, int64_t nrows, int64_t rows, int64_t cols) {
    if (pq_check(groups, col_start, code_bits, cb_k, codes, codebooks, sub_len, subspaces, perm, rows, cols) != 0
        || !dst || row0 < 0 || nrows < 0 || row0 > rows - nrows) {
        return -1;
    }
    if (nrows == 0) return 0;
    const int64_t T = (rows + sub_len - 1) / sub_len;
    int nt = jvq_threads_for(nrows * cols);
    if (nt > nrows) nt = (int)nrows;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t q0, q1;
        jvq_split(nrows, omp_get_thread_num(), omp_get_num_threads(), &q0, &q1);
        if (q1 > q0) {
            const int64_t r0 = row0 + q0, r1 = row0 + q1;
            for (int32_t g = 0; g < groups; g++) {
                const int64_t k = cb_k[g], c0 = col_start[g];
                const uint16_t* cb = codebooks[g];
                for (int64_t j = c0; j < col_start[g + 1]; j++) {
                    float* out = dst + perm[j];
                    for (int64_t t = r0 / sub_len; t * sub_len < r1; t++) {
                        int64_t w = jvq_pq_word(codes[g], code_bits[g], k, sub_len, subspaces, j - c0, T, t);
                        int64_t d0 = r0 > t * sub_len ? r0 - t * sub_len : 0;
                        for (int64_t d = d0; d < sub_len && t * sub_len + d < r1; d++) {
                            int64_t r = t * sub_len + d;
                            float v = jvq_pq_value_f16(cb, w, (int32_t)d);
                            out[(r - row0) * cols] = row_scale ? v * jvq_f16_to_float(row_scale[r]) : v;
                        }
                    }
                }
            }
        }
    }
    return 0;
}
