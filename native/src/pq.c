/* Fused PQ-dequant GEMV and row dequantisation (RSAVQ layout, jvq.h / dev.jvq.quant.RsavqLinear).
 *
 * Codes run down the stored columns (column-major per group), so the GEMV walks column by column
 * and scatters x'[j] · codeword into a block of output rows: y_t += x'[j] · CB[t mod S][code(j, t)].
 * x is gathered into stored-column order once per call (x'[j] = x[perm[j]]), and every group's f16
 * codebook is widened once per call into one shared f32 table (codewords of 3 padded to 4 lanes,
 * tables padded with NaN codewords up to 2^bits where that is small) with a trailing NaN word that
 * out-of-range codes (a corrupt file) are pointed at instead of memory past the codebook.
 *
 * Threads own contiguous ranges of sub-vectors (hence of rows) and keep their partial sums in a
 * private buffer; every output element is summed over columns in stored order with fused
 * multiply-adds, so the result is bit-identical for any thread count and for every loop below
 * (register tiles of sub-vectors x blocks of columns, pair tables, the plain loop): they differ only
 * in how codes and codewords are fetched. */
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
    int32_t stride;     /* floats per widened codeword: sub_len, or 4 for sub_len 3 (one 128-bit load) */
    float* cb;          /* widened codebooks, one after the other */
    int64_t* cb_off;    /* float offset of group g's table in cb */
    int64_t* cb_rows;   /* codewords per subspace table of group g: k, or 2^bits when that is larger */
    int64_t T;          /* sub-vectors down a column */
    float* pair;        /* pair tables (pq_pairs), or NULL */
    int64_t* pair_off;  /* float offset of group g's pair table in pair, -1 for none */
} pq_layer;

/* Codes up to this width may get subspace tables of 2^bits codewords (the ones >= k NaN), so every
 * code a packed field can hold addresses the table and the fast loops need no range check. */
#define PQ_FULL_TABLE_BITS 12

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

/* Widens every group's codebook into one heap table: subspace tables of cb_rows codewords, each
 * codeword `stride` floats (padding lanes 0), codewords k .. cb_rows - 1 NaN, then one NaN word that
 * out-of-range codes of wider groups are pointed at. -1 without memory. */
static int pq_widen(pq_layer* L, const uint16_t* const* codebooks) {
    const int64_t S = L->subspaces, sl = L->sub_len, st = L->stride;
    int64_t total = 0;
    L->cb_off = (int64_t*)malloc((size_t)L->groups * 2 * sizeof(int64_t));
    if (!L->cb_off) return -1;
    L->cb_rows = L->cb_off + L->groups;
    for (int32_t g = 0; g < L->groups; g++) {
        int64_t k = L->cb_k[g], full = (int64_t)1 << L->code_bits[g];
        /* full tables only where the NaN padding stays small next to the codebook or in absolute size */
        L->cb_rows[g] = L->code_bits[g] <= PQ_FULL_TABLE_BITS && full > k && (full <= 2 * k || S * full * st <= 8192)
                        ? full : k;
        L->cb_off[g] = total;
        total += (S * L->cb_rows[g] + 1) * st;
    }
    L->cb = (float*)malloc((size_t)total * sizeof(float));
    if (!L->cb) {
        free(L->cb_off);
        return -1;
    }
    for (int32_t g = 0; g < L->groups; g++) {
        const int64_t k = L->cb_k[g], P = L->cb_rows[g];
        float* t = L->cb + L->cb_off[g];
        for (int64_t s = 0; s < S; s++) {
            float* tab = t + s * P * st;
            for (int64_t q = 0; q < k; q++) {
                jvq_f16_to_f32(codebooks[g] + (s * k + q) * sl, tab + q * st, sl);
                for (int64_t d = sl; d < st; d++) tab[q * st + d] = 0.0f;
            }
            for (int64_t i = k * st; i < P * st; i++) tab[i] = NAN;
        }
        for (int64_t d = 0; d < st; d++) t[S * P * st + d] = NAN;
    }
    return 0;
}

typedef void (*pq_range_fn)(const pq_layer*, int32_t, const float*, float*, int64_t, int64_t);

#ifdef JVQ_AVX2
/* Pair tables: for sub-vectors of 3 or 4 rows (4-lane codewords), 1 or 2 subspaces and codes of at
 * most PQ_PAIR_BITS bits, the codes of sub-vectors t and t + 1 (t even) of a column are one field of
 * 2 * bits bits, and entry (code(t+1) << bits | code(t)) holds both codewords side by side: one
 * 256-bit load per two codes instead of two 128-bit loads and an insert. Built where a group has many
 * more codes than the table has entries. The values are the widened codewords themselves, so the
 * sums are the same fused multiply-adds as without the table. */
#define PQ_PAIR_BITS 6

static int pq_pair_worth(const pq_layer* L, int32_t g) {
    const int32_t bits = L->code_bits[g];
    return L->stride == 4 && L->subspaces <= 2 && bits <= PQ_PAIR_BITS && L->cb_rows[g] == ((int64_t)1 << bits)
           && (int64_t)(L->col_start[g + 1] - L->col_start[g]) * L->T >= (int64_t)8 << (2 * bits);
}

/* Builds the pair tables of the groups that are worth one; without memory, none (slower, same sums). */
static void pq_pairs(pq_layer* L) {
    int64_t total = 0;
    L->pair = NULL;
    L->pair_off = (int64_t*)malloc((size_t)L->groups * sizeof(int64_t));
    if (!L->pair_off) return;
    for (int32_t g = 0; g < L->groups; g++) {
        L->pair_off[g] = -1;
        if (pq_pair_worth(L, g)) {
            L->pair_off[g] = total;
            total += ((int64_t)8) << (2 * L->code_bits[g]);
        }
    }
    if (total == 0 || !(L->pair = (float*)malloc((size_t)total * sizeof(float)))) {
        for (int32_t g = 0; g < L->groups; g++) L->pair_off[g] = -1;
        return;
    }
    for (int32_t g = 0; g < L->groups; g++) {
        if (L->pair_off[g] < 0) continue;
        const int64_t n = (int64_t)1 << L->code_bits[g];
        const float* even = L->cb + L->cb_off[g];                        /* subspace of an even t: 0 */
        const float* odd = even + (L->subspaces == 2 ? n * 4 : 0);        /* of t + 1: 1 mod S */
        float* out = L->pair + L->pair_off[g];
        for (int64_t qb = 0; qb < n; qb++) {
            for (int64_t qa = 0; qa < n; qa++) {
                memcpy(out, even + qa * 4, 4 * sizeof(float));
                memcpy(out + 4, odd + qb * 4, 4 * sizeof(float));
                out += 8;
            }
        }
    }
}

#endif

static void pq_free(pq_layer* L) {
    free(L->pair);
    free(L->pair_off);
    free(L->cb);
    free(L->cb_off);
}

/* Every path below computes acc[(t - t0) * stride + d] = fmaf(x'[j], word(j, t)[d], acc[...]) for
 * the group's columns j in stored order, so each output element is the same chain of fused
 * multiply-adds whichever path, block or thread range produced it. */

/* Columns [j0, j1) of group g over sub-vectors [t0, t1), four columns at a time so a sub-vector's
 * partial sums stay in registers across them (any width, any L). */
static inline __attribute__((always_inline)) void pq_cols_plain(const pq_layer* P, int32_t g, const float* xp,
                                                                float* acc, int64_t j0, int64_t j1, int64_t t0,
                                                                int64_t t1, const int L, const int st) {
    const int64_t T = P->T, k = P->cb_k[g], Pr = P->cb_rows[g];
    const int32_t bits = P->code_bits[g], S = P->subspaces;
    const uint8_t* codes = P->codes[g];
    const float* cb = P->cb + P->cb_off[g];
    const float* nan_word = cb + (int64_t)S * Pr * st;
    const int64_t c0 = P->col_start[g];
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
        const float x0 = xp[j], x1 = xp[j + 1], x2 = xp[j + 2], x3 = xp[j + 3];
        const int64_t b0 = (j - c0) * T;
        int64_t table = t0 % S;
        for (int64_t t = t0; t < t1; t++) {
            uint32_t q0 = jvq_read_code(codes, b0 + t, bits), q1 = jvq_read_code(codes, b0 + T + t, bits);
            uint32_t q2 = jvq_read_code(codes, b0 + 2 * T + t, bits), q3 = jvq_read_code(codes, b0 + 3 * T + t, bits);
            const float* tb = cb + table * Pr * st;
            const float* w0 = (int64_t)q0 < k ? tb + (int64_t)q0 * st : nan_word;
            const float* w1 = (int64_t)q1 < k ? tb + (int64_t)q1 * st : nan_word;
            const float* w2 = (int64_t)q2 < k ? tb + (int64_t)q2 * st : nan_word;
            const float* w3 = (int64_t)q3 < k ? tb + (int64_t)q3 * st : nan_word;
            float* a = acc + (t - t0) * st;
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
    for (; j < j1; j++) {
        const int64_t b0 = (j - c0) * T;
        int64_t table = t0 % S;
        for (int64_t t = t0; t < t1; t++) {
            uint32_t q = jvq_read_code(codes, b0 + t, bits);
            const float* w = (int64_t)q < k ? cb + (table * Pr + (int64_t)q) * st : nan_word;
            float* a = acc + (t - t0) * st;
            for (int d = 0; d < L; d++) a[d] = fmaf(xp[j], w[d], a[d]);
            if (++table == S) table = 0;
        }
    }
}

#ifdef JVQ_AVX2
/* Column blocks of PQ_BLOCK columns; within a block, tiles of V sub-vectors whose partial sums
 * (V * st floats = four 256-bit registers) stay in registers across the block's columns. Codes of a
 * column are contiguous in t, so one unaligned 64-bit read yields several of them, cut with constant
 * shifts when `bits` is a compile-time constant. Needs cb_rows >= 2^bits (no range check). */
#define PQ_BLOCK 8
static inline __attribute__((always_inline)) void pq_group_fast(const pq_layer* P, int32_t g, const float* xp,
                                                                float* acc, int64_t t0, int64_t t1, const int L,
                                                                const int st, const int32_t bits,
                                                                const int const_bits) {
    enum { NACC = 4 };
    const int V = NACC * 8 / st;          /* sub-vectors per tile: 8 (st 4), 16 (st 2), 4 (st 8) */
    const int per = 8 / st;               /* sub-vectors per register */
    const int cpl = (64 - 7) / bits < V ? (64 - 7) / bits : V; /* codes per 64-bit read */
    const uint64_t mask = (1ull << bits) - 1ull;
    const int64_t T = P->T, Pr = P->cb_rows[g];
    const int32_t S = P->subspaces;
    const uint8_t* codes = P->codes[g];
    const float* cb = P->cb + P->cb_off[g];
    const int64_t c0 = P->col_start[g], c1 = P->col_start[g + 1];
    const int64_t tfast = t0 + (t1 - t0) / V * V;
    int64_t j = c0;
    for (; j < c1; j += PQ_BLOCK) {
        const int nc = c1 - j < PQ_BLOCK ? (int)(c1 - j) : PQ_BLOCK;
        __m256 xv[PQ_BLOCK];
        for (int c = 0; c < PQ_BLOCK; c++) xv[c] = _mm256_set1_ps(c < nc ? xp[j + c] : 0.0f);
        int64_t s0 = t0 % S; /* subspace of the tile's first sub-vector */
        for (int64_t t = t0; t < tfast; t += V) {
            const float* tb[32];
            {
                int64_t s = s0;
                for (int u = 0; u < V; u++) {
                    tb[u] = cb + s * Pr * st;
                    if (++s == S) s = 0;
                }
                s0 = s;
            }
            float* at = acc + (t - t0) * st;
            __m256 a[NACC];
            for (int r = 0; r < NACC; r++) a[r] = _mm256_loadu_ps(at + 8 * r);
#define PQ_COLUMN(c)                                                                                     \
            do {                                                                                         \
                const uint64_t code0 = (uint64_t)((j - c0 + (c)) * T + t);                               \
                uint64_t word = 0;                                                                       \
                const float* w[32];                                                                      \
                for (int u = 0; u < V; u++) {                                                            \
                    if (!const_bits) {                                                                   \
                        w[u] = tb[u] + (int64_t)jvq_read_code(codes, (int64_t)code0 + u, bits) * st;     \
                        continue;                                                                        \
                    }                                                                                    \
                    if (u % cpl == 0) {                                                                  \
                        uint64_t bp = (code0 + (uint64_t)u) * (uint64_t)bits;                            \
                        memcpy(&word, codes + (bp >> 3), sizeof word);                                   \
                        word >>= bp & 7u;                                                                \
                    }                                                                                    \
                    w[u] = tb[u] + ((word >> ((u % cpl) * bits)) & mask) * st;                           \
                }                                                                                        \
                for (int r = 0; r < NACC; r++) {                                                         \
                    __m256 wv;                                                                           \
                    if (st == 8) {                                                                       \
                        wv = _mm256_loadu_ps(w[r]);                                                      \
                    } else if (st == 4) {                                                                \
                        wv = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(w[2 * r])),         \
                                                  _mm_loadu_ps(w[2 * r + 1]), 1);                        \
                    } else {                                                                             \
                        __m128d lo = _mm_loadh_pd(_mm_load_sd((const double*)w[4 * r]),                  \
                                                  (const double*)w[4 * r + 1]);                          \
                        __m128d hi = _mm_loadh_pd(_mm_load_sd((const double*)w[4 * r + 2]),              \
                                                  (const double*)w[4 * r + 3]);                          \
                        wv = _mm256_castpd_ps(_mm256_insertf128_pd(_mm256_castpd128_pd256(lo), hi, 1));  \
                    }                                                                                    \
                    a[r] = _mm256_fmadd_ps(xv[c], wv, a[r]);                                             \
                }                                                                                        \
            } while (0)
            if (nc == PQ_BLOCK) {
                for (int c = 0; c < PQ_BLOCK; c++) PQ_COLUMN(c);
            } else {
                for (int c = 0; c < nc; c++) PQ_COLUMN(c);
            }
#undef PQ_COLUMN
            for (int r = 0; r < NACC; r++) _mm256_storeu_ps(at + 8 * r, a[r]);
        }
        (void)per;
        /* the range's last sub-vectors: column by column, so still in stored column order */
        if (tfast < t1) pq_cols_plain(P, g, xp, acc + (tfast - t0) * st, j, j + nc, tfast, t1, L, st);
    }
}

#define PQ_FAST(L, st, bits)                                                                             \
    static void pq_fast_##L##_##bits(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, \
                                     int64_t t1) {                                                       \
        pq_group_fast(P, g, xp, acc, t0, t1, L, st, bits, 1);                                             \
    }
#define PQ_FAST_ANY(L, st)                                                                               \
    static void pq_fast_##L##_any(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0,    \
                                  int64_t t1) {                                                          \
        pq_group_fast(P, g, xp, acc, t0, t1, L, st, P->code_bits[g], 0);                                  \
    }
PQ_FAST(3, 4, 3) PQ_FAST(3, 4, 6) PQ_FAST(3, 4, 9) PQ_FAST(3, 4, 12) PQ_FAST_ANY(3, 4)
PQ_FAST(2, 2, 2) PQ_FAST(2, 2, 4) PQ_FAST(2, 2, 6) PQ_FAST(2, 2, 8) PQ_FAST(2, 2, 10) PQ_FAST(2, 2, 12)
PQ_FAST_ANY(2, 2)
PQ_FAST(4, 4, 4) PQ_FAST(4, 4, 8) PQ_FAST(4, 4, 12) PQ_FAST_ANY(4, 4)
PQ_FAST_ANY(8, 8)

/* The pair-table loop (see pq_pairs): tiles of 8 sub-vectors starting at an even t, 8 columns per
 * block; a range's odd first sub-vector and its last ones go through the plain loop. */
static inline __attribute__((always_inline)) void pq_group_pairs(const pq_layer* P, int32_t g, const float* xp,
                                                                 float* acc, int64_t t0, int64_t t1, const int L,
                                                                 const int32_t bits) {
    const uint64_t pmask = (1ull << (2 * bits)) - 1ull;
    const int64_t T = P->T;
    const uint8_t* codes = P->codes[g];
    const float* pt = P->pair + P->pair_off[g];
    const int64_t c0 = P->col_start[g], c1 = P->col_start[g + 1];
    const int64_t even = (t0 + 1) & ~(int64_t)1; /* first even sub-vector of the range */
    const int64_t ts = even < t1 ? even : t1;
    const int64_t te = ts + (t1 - ts) / 8 * 8;
    for (int64_t j = c0; j < c1; j += PQ_BLOCK) {
        const int nc = c1 - j < PQ_BLOCK ? (int)(c1 - j) : PQ_BLOCK;
        __m256 xv[PQ_BLOCK];
        for (int c = 0; c < PQ_BLOCK; c++) xv[c] = _mm256_set1_ps(c < nc ? xp[j + c] : 0.0f);
        if (ts > t0) pq_cols_plain(P, g, xp, acc, j, j + nc, t0, ts, L, 4);
        for (int64_t t = ts; t < te; t += 8) {
            float* at = acc + (t - t0) * 4;
            __m256 a0 = _mm256_loadu_ps(at), a1 = _mm256_loadu_ps(at + 8);
            __m256 a2 = _mm256_loadu_ps(at + 16), a3 = _mm256_loadu_ps(at + 24);
#define PQ_PAIR_COLUMN(c)                                                                                \
            do {                                                                                         \
                const uint64_t bp = (uint64_t)((j - c0 + (c)) * T + t) * (uint64_t)bits;                 \
                uint64_t word;                                                                           \
                memcpy(&word, codes + (bp >> 3), sizeof word);                                           \
                word >>= bp & 7u;                                                                        \
                a0 = _mm256_fmadd_ps(xv[c], _mm256_loadu_ps(pt + (word & pmask) * 8), a0);               \
                a1 = _mm256_fmadd_ps(xv[c], _mm256_loadu_ps(pt + ((word >> (2 * bits)) & pmask) * 8), a1); \
                a2 = _mm256_fmadd_ps(xv[c], _mm256_loadu_ps(pt + ((word >> (4 * bits)) & pmask) * 8), a2); \
                a3 = _mm256_fmadd_ps(xv[c], _mm256_loadu_ps(pt + ((word >> (6 * bits)) & pmask) * 8), a3); \
            } while (0)
            if (nc == PQ_BLOCK) {
                for (int c = 0; c < PQ_BLOCK; c++) PQ_PAIR_COLUMN(c);
            } else {
                for (int c = 0; c < nc; c++) PQ_PAIR_COLUMN(c);
            }
#undef PQ_PAIR_COLUMN
            _mm256_storeu_ps(at, a0);
            _mm256_storeu_ps(at + 8, a1);
            _mm256_storeu_ps(at + 16, a2);
            _mm256_storeu_ps(at + 24, a3);
        }
        if (te < t1) pq_cols_plain(P, g, xp, acc + (te - t0) * 4, j, j + nc, te, t1, L, 4);
    }
}

#define PQ_PAIRS(L, bits)                                                                                \
    static void pq_pairs_##L##_##bits(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, \
                                      int64_t t1) {                                                      \
        pq_group_pairs(P, g, xp, acc, t0, t1, L, bits);                                                  \
    }
#define PQ_PAIRS_ANY(L)                                                                                  \
    static void pq_pairs_##L##_any(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0,   \
                                   int64_t t1) {                                                         \
        pq_group_pairs(P, g, xp, acc, t0, t1, L, P->code_bits[g]);                                       \
    }
PQ_PAIRS(3, 6) PQ_PAIRS_ANY(3) PQ_PAIRS(4, 6) PQ_PAIRS_ANY(4)

#ifdef JVQ_AVX512
/* Register tables: where a group's whole widened table (every subspace, 2-lane or 4-lane codewords)
 * is at most 32 floats — codes of at most 4 bits, e.g. 2-bit codes of 2- to 4-row sub-vectors — it
 * lives in two zmm registers and each accumulator's 16 codeword lanes come from one vpermt2ps indexed
 * by the codes, spread to lanes with a broadcast, a variable shift and a mask. Per 16 lanes that is 2
 * shuffle-port uops and no table load, against 3 shuffles, 4-8 scalar code extractions and 4-8 loads
 * in the AVX2 loop (per 8 lanes, twice). Same fused multiply-adds in the same column order. */
#define PQ_REG_NACC 4  /* zmm accumulators per tile */
#define PQ_REG_MAX_S 4 /* subspaces whose lane offsets are prepared */

static int pq_regtab_fits(const pq_layer* P, int32_t g) {
    return (P->stride == 2 || P->stride == 4) && P->subspaces <= PQ_REG_MAX_S && P->code_bits[g] <= 4
           && P->cb_rows[g] == ((int64_t)1 << P->code_bits[g]) && P->subspaces * P->cb_rows[g] * P->stride <= 32;
}

static inline __attribute__((always_inline)) void pq_group_regtab(const pq_layer* P, int32_t g, const float* xp,
                                                                  float* acc, int64_t t0, int64_t t1, const int L,
                                                                  const int st) {
    const int cpr = 16 / st;            /* sub-vectors (codes) per register: 8 (st 2), 4 (st 4) */
    const int V = PQ_REG_NACC * cpr;    /* sub-vectors per tile */
    const int lg = st == 2 ? 1 : 2;     /* log2(st) */
    const int32_t bits = P->code_bits[g], S = P->subspaces;
    const int64_t T = P->T, Pr = P->cb_rows[g];
    const uint8_t* codes = P->codes[g];
    const float* cb = P->cb + P->cb_off[g];
    const int64_t c0 = P->col_start[g], c1 = P->col_start[g + 1];
    const int64_t tfast = t0 + (t1 - t0) / V * V;
    const int nf = (int)(S * Pr * st); /* floats of the table, <= 32 */
    const __m512 tab0 = _mm512_maskz_loadu_ps((__mmask16)((1u << (nf < 16 ? nf : 16)) - 1u), cb);
    const __m512 tab1 = _mm512_maskz_loadu_ps((__mmask16)((1u << (nf > 16 ? nf - 16 : 0)) - 1u), cb + 16);
    /* lane l of register r holds dimension l % st of sub-vector r * cpr + l / st of the tile; its code
     * is field l / st of the register's 32 code bits, its codeword in subspace (s0 + r * cpr + l / st) % S */
    _Alignas(64) int32_t shift[16];
    _Alignas(64) int32_t offs[PQ_REG_MAX_S][PQ_REG_NACC][16];
    for (int l = 0; l < 16; l++) shift[l] = (l / st) * bits;
    for (int s0 = 0; s0 < S; s0++)
        for (int r = 0; r < PQ_REG_NACC; r++)
            for (int l = 0; l < 16; l++) offs[s0][r][l] = (int32_t)(((s0 + r * cpr + l / st) % S) * Pr * st + l % st);
    const __m512i shiftv = _mm512_load_si512((const void*)shift);
    const __m512i maskv = _mm512_set1_epi32((1 << bits) - 1);
    for (int64_t j = c0; j < c1; j += PQ_BLOCK) {
        const int nc = c1 - j < PQ_BLOCK ? (int)(c1 - j) : PQ_BLOCK;
        __m512 xv[PQ_BLOCK];
        for (int c = 0; c < PQ_BLOCK; c++) xv[c] = _mm512_set1_ps(c < nc ? xp[j + c] : 0.0f);
        int64_t s0 = t0 % S;
        for (int64_t t = t0; t < tfast; t += V) {
            float* at = acc + (t - t0) * st;
            __m512 a[PQ_REG_NACC];
            __m512i off[PQ_REG_NACC];
            for (int r = 0; r < PQ_REG_NACC; r++) {
                a[r] = _mm512_loadu_ps(at + 16 * r);
                off[r] = _mm512_load_si512((const void*)offs[s0][r]);
            }
            for (int c = 0; c < nc; c++) {
                const uint64_t code0 = (uint64_t)((j - c0 + c) * T + t);
                for (int r = 0; r < PQ_REG_NACC; r++) {
                    const uint64_t bp = (code0 + (uint64_t)(r * cpr)) * (uint64_t)bits;
                    uint64_t word; /* cpr * bits <= 32 bits from here; the stream has >= 8 bytes of padding */
                    memcpy(&word, codes + (bp >> 3), sizeof word);
                    const __m512i q = _mm512_and_si512(
                        _mm512_srlv_epi32(_mm512_set1_epi32((int32_t)(uint32_t)(word >> (bp & 7u))), shiftv), maskv);
                    const __m512i idx = _mm512_add_epi32(_mm512_slli_epi32(q, lg), off[r]);
                    a[r] = _mm512_fmadd_ps(xv[c], _mm512_permutex2var_ps(tab0, idx, tab1), a[r]);
                }
            }
            for (int r = 0; r < PQ_REG_NACC; r++) _mm512_storeu_ps(at + 16 * r, a[r]);
            s0 = (s0 + V) % S;
        }
        /* the range's last sub-vectors: column by column, so still in stored column order */
        if (tfast < t1) pq_cols_plain(P, g, xp, acc + (tfast - t0) * st, j, j + nc, tfast, t1, L, st);
    }
}

#define PQ_REGTAB(L, st)                                                                                 \
    static void pq_regtab_##L(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0,        \
                              int64_t t1) {                                                              \
        pq_group_regtab(P, g, xp, acc, t0, t1, L, st);                                                   \
    }
PQ_REGTAB(2, 2) PQ_REGTAB(3, 4) PQ_REGTAB(4, 4)
#endif

/* The fast loop for group g of this layer, or NULL (no AVX2 shape for it). */
static pq_range_fn pq_fast_for(const pq_layer* P, int32_t g) {
    const int32_t bits = P->code_bits[g];
#ifdef JVQ_AVX512
    if (pq_regtab_fits(P, g)) return P->sub_len == 2 ? pq_regtab_2 : P->sub_len == 3 ? pq_regtab_3 : pq_regtab_4;
#endif
    if (P->pair_off && P->pair_off[g] >= 0) {
        if (P->sub_len == 3) return bits == 6 ? pq_pairs_3_6 : pq_pairs_3_any;
        return bits == 6 ? pq_pairs_4_6 : pq_pairs_4_any;
    }
    if (P->cb_rows[g] < ((int64_t)1 << bits)) return NULL; /* codes need a range check */
    switch (P->sub_len) {
    /* the widths of sub_len x whole bits per weight up to 12 bits, with constant shifts */
    case 3: return bits == 3 ? pq_fast_3_3 : bits == 6 ? pq_fast_3_6 : bits == 9 ? pq_fast_3_9
                 : bits == 12 ? pq_fast_3_12 : pq_fast_3_any;
    case 2: return bits == 2 ? pq_fast_2_2 : bits == 4 ? pq_fast_2_4 : bits == 6 ? pq_fast_2_6 : bits == 8 ? pq_fast_2_8
                 : bits == 10 ? pq_fast_2_10 : bits == 12 ? pq_fast_2_12 : pq_fast_2_any;
    case 4: return bits == 4 ? pq_fast_4_4 : bits == 8 ? pq_fast_4_8 : bits == 12 ? pq_fast_4_12 : pq_fast_4_any;
    case 8: return pq_fast_8_any;
    default: return NULL;
    }
}
#endif

static void pq_plain_any(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_cols_plain(P, g, xp, acc, P->col_start[g], P->col_start[g + 1], t0, t1, P->sub_len, P->stride);
}
static void pq_plain_3(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_cols_plain(P, g, xp, acc, P->col_start[g], P->col_start[g + 1], t0, t1, 3, 4);
}
static void pq_plain_1(const pq_layer* P, int32_t g, const float* xp, float* acc, int64_t t0, int64_t t1) {
    pq_cols_plain(P, g, xp, acc, P->col_start[g], P->col_start[g + 1], t0, t1, 1, 1);
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
    const int32_t stride = sub_len == 3 ? 4 : sub_len;
    pq_layer P = {groups, sub_len, subspaces, col_start, code_bits, cb_k, codes, stride, NULL, NULL, NULL,
                  (rows + sub_len - 1) / sub_len, NULL, NULL};
    float* xp = (float*)malloc((size_t)cols * sizeof(float));
    pq_range_fn* range = (pq_range_fn*)malloc((size_t)groups * sizeof(pq_range_fn));
    if (!xp || !range || pq_widen(&P, codebooks) != 0) { /* no memory: say so in the output rather than crash */
        free(xp);
        free(range);
        for (int64_t i = 0; i < rows; i++) y[i] = NAN;
        return 0;
    }
    for (int64_t j = 0; j < cols; j++) xp[j] = x[perm[j]];
#ifdef JVQ_AVX2
    pq_pairs(&P);
#endif
    for (int32_t g = 0; g < groups; g++) {
        range[g] = sub_len == 3 ? pq_plain_3 : sub_len == 1 ? pq_plain_1 : pq_plain_any;
#ifdef JVQ_AVX2
        pq_range_fn fast = pq_fast_for(&P, g);
        if (fast) range[g] = fast;
#endif
    }
    const int64_t T = P.T;
    int nt = jvq_threads_for(rows * cols);
    if (nt > T) nt = (int)T;
    int failed = 0;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : failed)
    {
        int64_t t0, t1;
        jvq_split(T, omp_get_thread_num(), omp_get_num_threads(), &t0, &t1);
        if (t1 > t0) {
            float* acc = (float*)calloc((size_t)((t1 - t0) * stride), sizeof(float));
            if (!acc) {
                failed = 1;
            } else {
                for (int32_t g = 0; g < groups; g++) range[g](&P, g, xp, acc, t0, t1);
                int64_t r0 = t0 * sub_len, r1 = t1 * sub_len < rows ? t1 * sub_len : rows;
                for (int64_t r = r0; r < r1; r++) {
                    float s = row_scale ? jvq_f16_to_float(row_scale[r]) : 1.0f;
                    int64_t t = r / sub_len;
                    y[r] = s * acc[(t - t0) * stride + (r - t * sub_len)];
                }
                free(acc);
            }
        }
    }
    if (failed) {
        for (int64_t i = 0; i < rows; i++) y[i] = NAN;
    }
    pq_free(&P);
    free(range);
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
