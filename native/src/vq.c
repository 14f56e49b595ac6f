/* Fused VQ-dequant GEMV and row dequantisation (HAS-VQ layout, ALGORITHMS.md section 2):
 *   W_ij = s_i * ( C[code(v)][f mod b] + S_ij [ij in Omega] ),  f = i*cols + j,  v = f / b.
 *
 * The f16 codebook is widened once per call into an f32 table shared by all threads (on the calling
 * thread's stack when it is small, else on the heap). The table has one extra row of NaNs and codes
 * are clamped to it, so a code >= k — a corrupt file — reads NaN instead of memory past the
 * codebook. Each row then walks its codes in order: a partial head vector when the row starts inside
 * a vector (cols % b != 0), whole vectors (specialised for b = 2, 4, 8), a partial tail; then the
 * sorted sparse residuals of the row; then one multiply by the row scale. Threads own contiguous row
 * ranges and find their first residual by binary search.
 *
 * GEMV with AVX2 and 5 <= bits <= 13, b in {2, 4, 8} (both presets) takes the grouped path instead:
 * groups of 8 vectors whose codes start on a byte, cut out with constant shifts from two 64-bit
 * loads (vq_row_dot_grouped); the table then has a NaN row for every code >= k, so no clamp. Its
 * cost is about 5 instructions a vector (2 integer ops to cut a code, a codeword load, half an
 * insert or widening and half an FMA) and it is bound by instruction dispatch once its data sit in
 * L1 — which is why b = 4 with 11-bit codes reads an f16 copy of the codebook (16 KiB, beside a
 * 16 KiB x; the f32 table alone would fill L1). The residuals go 8 at a time through a masked
 * gather of x.
 *
 * With AVX-512 (JVQ_AVX512) the presets' groups cut their 8 codes in one vector register and fetch
 * the 8 codewords with one gather (vq_groups512_*), and the residuals go 16 at a time under mask
 * registers; the rest (other b, non-grouped layouts, row heads and tails, row dequantisation) keeps
 * the AVX2 code, for the reasons given where each lives. */
#include <math.h>
#include <stdint.h>
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
    const uint16_t* cbh; /* grouped b = 4, bits = 11: 2048 x 4 f16, rows k.. NaN; else NULL */
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

/* The start of row i's dot product: the part of the row lying in a vector that began on an earlier
 * row. Sets *v to the row's first whole vector and *j to its column. */
static inline float vq_row_head(const vq_layer* L, int64_t i, const float* x, int64_t cols, int64_t* v, int64_t* j) {
    const int64_t b = L->b;
    int64_t f0 = i * cols;
    *v = f0 / b;
    *j = 0;
    int64_t lane = f0 - *v * b;
    float acc = 0.0f;
    if (lane != 0) { /* the row starts inside vector v */
        const float* w = vq_word(L, *v);
        int64_t n = b - lane < cols ? b - lane : cols;
        for (int64_t t = 0; t < n; t++) acc += w[lane + t] * x[t];
        *j = n;
        (*v)++;
    }
    return acc;
}

/* The end of a row's dot product from vector v at column j on, added to acc in column order: whole
 * vectors one by one, then the part of the last vector inside the row. */
static inline float vq_row_tail(const vq_layer* L, const float* x, int64_t cols, int64_t v, int64_t j, float acc) {
    const int64_t b = L->b;
    for (; j + b <= cols; j += b, v++) {
        const float* w = vq_word(L, v);
        for (int64_t t = 0; t < b; t++) acc += w[t] * x[j + t];
    }
    if (j < cols) { /* the row ends inside vector v */
        const float* w = vq_word(L, v);
        for (int64_t t = 0; j + t < cols; t++) acc += w[t] * x[j + t];
    }
    return acc;
}

/* Σ_j W_body[i, j] x[j] over row i (before the row scale): codes only. */
static float vq_row_dot(const vq_layer* L, int64_t i, const float* x, int64_t cols) {
    int64_t v, j;
    float acc = vq_row_head(L, i, x, cols, &v, &j);
#ifdef JVQ_AVX2
    const int64_t b = L->b;
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
    return vq_row_tail(L, x, cols, v, j, acc); /* the rest (and every b without a fast path) */
}

/* Widens the codebook into stack_buf or a heap buffer (*heap, to be freed); NULL if out of memory.
 * The table has `rows` >= k + 1 rows: every row from k on is NaN. */
static float* codebook_table_rows(const uint16_t* codebook, int64_t k, int64_t b, int64_t rows, float* stack_buf,
                                  float** heap) {
    int64_t need = rows * b;
    float* t = stack_buf;
    *heap = NULL;
    if (need > VQ_STACK_FLOATS) {
        *heap = (float*)malloc((size_t)need * sizeof(float));
        if (!*heap) return NULL;
        t = *heap;
    }
    widen_codebook(codebook, k, b, t);
    for (int64_t e = (k + 1) * b; e < need; e++) t[e] = NAN;
    return t;
}

static float* codebook_table(const uint16_t* codebook, int64_t k, int64_t b, float* stack_buf, float** heap) {
    return codebook_table_rows(codebook, k, b, k + 1, stack_buf, heap);
}

#ifdef JVQ_AVX2
/* The grouped GEMV path: 8 codes of `bits` bits fill exactly `bits` bytes, so a group of 8 vectors
 * that starts at a vector index divisible by 8 starts on a byte, and two unaligned 64-bit loads
 * (bytes 0.. and bits/2 - 1..) hold its codes at shifts that are the same for every group. Each code
 * is cut out already multiplied by the codeword's byte size (one shift and one mask, no clamp: the
 * table then has a row for every possible code, NaN from k on), so the codeword address is one add.
 * Needs 5 <= bits <= 13 (the shifts stay within the words) and b in {2, 4, 8}. */
#define VQ_GROUP_MIN_BITS 5
#define VQ_GROUP_MAX_BITS 13

static inline int vq_grouped(int32_t bits, int64_t b) {
    return bits >= VQ_GROUP_MIN_BITS && bits <= VQ_GROUP_MAX_BITS && (b == 2 || b == 4 || b == 8);
}

static inline uint64_t vq_load64(const uint8_t* p) {
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* Byte offset of code t (0..7) of a group in the table, from the group's two words; lg = log2 of the
 * codeword's byte size (3, 4 or 5). */
typedef struct {
    int q2;        /* byte offset of the second word */
    int sh[8];     /* right rotations, code t, already lowered by lg (mod 64) */
    uint64_t mask; /* ((1 << bits) - 1) << lg */
    int lg;
} vq_cut;

static inline __attribute__((always_inline)) vq_cut vq_cut_for(int32_t bits, int lg) {
    vq_cut c;
    c.q2 = bits / 2 - 1;
    int base2 = 4 * bits - 8 * c.q2;
    for (int t = 0; t < 4; t++) {
        c.sh[t] = (t * bits - lg) & 63; /* code 0: a rotation by 64 - lg, i.e. left by lg */
        c.sh[4 + t] = base2 + t * bits - lg;
    }
    c.mask = ((1ull << bits) - 1ull) << lg;
    c.lg = lg;
    return c;
}

/* A rotation rather than a shift: with constant counts it is one non-destructive rorx, no copy;
 * the bits that wrap around land above the mask. */
static inline uint64_t vq_rotr(uint64_t w, int r) {
    return (w >> r) | (w << ((64 - r) & 63));
}
/* With counts known only at run time a rotation needs its count in cl (a copy): shift instead. */
#define VQ_OFF0(w0) (__builtin_constant_p(C.sh[0]) ? vq_rotr((w0), C.sh[0]) & C.mask : ((w0) << C.lg) & C.mask)
#define VQ_OFF(w, t) (__builtin_constant_p(C.sh[t]) ? vq_rotr((w), C.sh[t]) & C.mask : ((w) >> C.sh[t]) & C.mask)

/* Sum over whole groups of row columns [j, j_end) (j_end - j a multiple of 8 b; vector v at j,
 * v % 8 == 0) into the accumulators. */
static inline __attribute__((always_inline)) void vq_groups_b4(const uint8_t* codes, int32_t bits, const char* cb, const float* x, int64_t j,
                                int64_t j_end, int64_t v, __m256* acc) {
    const vq_cut C = vq_cut_for(bits, 4);
    __m256 a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint8_t* p = codes + (v >> 3) * bits;
    for (; j < j_end; j += 32, p += bits) {
        uint64_t w0 = vq_load64(p), w1 = vq_load64(p + C.q2);
        __m256 c01 = _mm256_set_m128(_mm_loadu_ps((const float*)(cb + VQ_OFF(w0, 1))),
                                     _mm_loadu_ps((const float*)(cb + VQ_OFF0(w0))));
        __m256 c23 = _mm256_set_m128(_mm_loadu_ps((const float*)(cb + VQ_OFF(w0, 3))),
                                     _mm_loadu_ps((const float*)(cb + VQ_OFF(w0, 2))));
        __m256 c45 = _mm256_set_m128(_mm_loadu_ps((const float*)(cb + VQ_OFF(w1, 5))),
                                     _mm_loadu_ps((const float*)(cb + VQ_OFF(w1, 4))));
        __m256 c67 = _mm256_set_m128(_mm_loadu_ps((const float*)(cb + VQ_OFF(w1, 7))),
                                     _mm_loadu_ps((const float*)(cb + VQ_OFF(w1, 6))));
        a0 = _mm256_fmadd_ps(c01, _mm256_loadu_ps(x + j), a0);
        a1 = _mm256_fmadd_ps(c23, _mm256_loadu_ps(x + j + 8), a1);
        a2 = _mm256_fmadd_ps(c45, _mm256_loadu_ps(x + j + 16), a2);
        a3 = _mm256_fmadd_ps(c67, _mm256_loadu_ps(x + j + 24), a3);
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* b = 4 from an f16 table (8 bytes a codeword): half the L1 footprint of the f32 one, so with K =
 * 2048 the table (16 KiB) and a 4096-wide x (16 KiB) fit L1 together; two codewords widened at once. */
static inline __attribute__((always_inline)) void vq_groups_b4h(const uint8_t* codes, int32_t bits, const char* cb,
                                                               const float* x, int64_t j, int64_t j_end, int64_t v,
                                                               __m256* acc) {
    const vq_cut C = vq_cut_for(bits, 3);
    __m256 a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint8_t* p = codes + (v >> 3) * bits;
#define VQ_H2(o0, o1) _mm256_cvtph_ps(_mm_castpd_si128(_mm_loadh_pd(_mm_load_sd((const double*)(cb + (o0))), \
                                                                    (const double*)(cb + (o1)))))
#pragma GCC unroll 2
    for (; j < j_end; j += 32, p += bits) {
        uint64_t w0 = vq_load64(p), w1 = vq_load64(p + C.q2);
        a0 = _mm256_fmadd_ps(VQ_H2(VQ_OFF0(w0), VQ_OFF(w0, 1)), _mm256_loadu_ps(x + j), a0);
        a1 = _mm256_fmadd_ps(VQ_H2(VQ_OFF(w0, 2), VQ_OFF(w0, 3)), _mm256_loadu_ps(x + j + 8), a1);
        a2 = _mm256_fmadd_ps(VQ_H2(VQ_OFF(w1, 4), VQ_OFF(w1, 5)), _mm256_loadu_ps(x + j + 16), a2);
        a3 = _mm256_fmadd_ps(VQ_H2(VQ_OFF(w1, 6), VQ_OFF(w1, 7)), _mm256_loadu_ps(x + j + 24), a3);
    }
#undef VQ_H2
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

static inline __m256 vq_pairs4(const char* cb, uint64_t o0, uint64_t o1, uint64_t o2, uint64_t o3) {
    __m128 lo = _mm_loadh_pi(_mm_castpd_ps(_mm_load_sd((const double*)(cb + o0))), (const __m64*)(cb + o1));
    __m128 hi = _mm_loadh_pi(_mm_castpd_ps(_mm_load_sd((const double*)(cb + o2))), (const __m64*)(cb + o3));
    return _mm256_set_m128(hi, lo);
}

static inline __attribute__((always_inline)) void vq_groups_b2(const uint8_t* codes, int32_t bits, const char* cb, const float* x, int64_t j,
                                int64_t j_end, int64_t v, __m256* acc) {
    const vq_cut C = vq_cut_for(bits, 3);
    __m256 a0 = acc[0], a1 = acc[1];
    const uint8_t* p = codes + (v >> 3) * bits;
    for (; j < j_end; j += 16, p += bits) {
        uint64_t w0 = vq_load64(p), w1 = vq_load64(p + C.q2);
        __m256 c03 = vq_pairs4(cb, VQ_OFF0(w0), VQ_OFF(w0, 1), VQ_OFF(w0, 2), VQ_OFF(w0, 3));
        __m256 c47 = vq_pairs4(cb, VQ_OFF(w1, 4), VQ_OFF(w1, 5), VQ_OFF(w1, 6), VQ_OFF(w1, 7));
        a0 = _mm256_fmadd_ps(c03, _mm256_loadu_ps(x + j), a0);
        a1 = _mm256_fmadd_ps(c47, _mm256_loadu_ps(x + j + 8), a1);
    }
    acc[0] = a0; acc[1] = a1;
}

static inline __attribute__((always_inline)) void vq_groups_b8(const uint8_t* codes, int32_t bits, const char* cb, const float* x, int64_t j,
                                int64_t j_end, int64_t v, __m256* acc) {
    const vq_cut C = vq_cut_for(bits, 5);
    __m256 a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint8_t* p = codes + (v >> 3) * bits;
    for (; j < j_end; j += 64, p += bits) {
        uint64_t w0 = vq_load64(p), w1 = vq_load64(p + C.q2);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF0(w0))), _mm256_loadu_ps(x + j), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF(w0, 1))), _mm256_loadu_ps(x + j + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF(w0, 2))), _mm256_loadu_ps(x + j + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF(w0, 3))), _mm256_loadu_ps(x + j + 24), a3);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF(w1, 4))), _mm256_loadu_ps(x + j + 32), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF(w1, 5))), _mm256_loadu_ps(x + j + 40), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF(w1, 6))), _mm256_loadu_ps(x + j + 48), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps((const float*)(cb + VQ_OFF(w1, 7))), _mm256_loadu_ps(x + j + 56), a3);
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}
#undef VQ_OFF0
#undef VQ_OFF

#ifdef JVQ_AVX512
/* The AVX-512 groups, for the two presets' layouts (b = 4 with 11-bit codes from the f16 table,
 * b = 2 from the f32 table): the AVX2 loop spends ~4.5 instructions a vector cutting codes one by
 * one in general registers and assembling codewords with inserts (vmovhps / vinsertf128 /
 * vcvtph2ps: 1-2 shuffle-port uops per two codewords), so it is bound by issue and, on Intel, by
 * port 5. Here the 8 codes of a group are cut in one register (two broadcast loads — pure load
 * uops — one vpsrlvq, one vpandq) and used as the 64-bit indices of one vpgatherqq that fetches
 * all 8 codewords (8 bytes each in both layouts): about 1.5 instructions a vector besides the
 * gather, whose 8 loads then bound the loop (~3-5 cycles a group on Sapphire Rapids / Zen 4
 * against ~8 for the AVX2 form: estimates from published instruction costs, not yet measured). Caveat: on Skylake-SP .. Ice Lake-SP with the GDS microcode
 * mitigation gathers are several times slower, and there the AVX2 loop would win. The table
 * lookups are the AVX2 path's: a row for every code, NaN from k on, so no clamp.
 * 8 codes a cut, not 16: one gather holds 8 codewords of 8 bytes, so 8 indices in 64-bit lanes are
 * what it takes. vpmultishiftqb (VBMI) would replace only the vpsrlvq (the and stays): not worth a
 * second ISA macro. */

/* The codes of the group at p, one per 64-bit lane: lanes 0-3 from the word at p, 4-7 from the
 * word at p + q2, at the grouped path's shifts (vq_cut_for with lg = 0). */
static inline __attribute__((always_inline)) __m512i vq_cut8_512(const uint8_t* p, const vq_cut* C, __m512i sh,
                                                                __m512i mask) {
    __m512i w = _mm512_mask_set1_epi64(_mm512_set1_epi64((long long)vq_load64(p)), (__mmask8)0xF0,
                                       (long long)vq_load64(p + C->q2));
    return _mm512_and_si512(_mm512_srlv_epi64(w, sh), mask);
}

#define VQ_CUT512_SETUP(bits)                                                                          \
    const vq_cut C = vq_cut_for((bits), 0);                                                           \
    const __m512i sh = _mm512_set_epi64(C.sh[7], C.sh[6], C.sh[5], C.sh[4], C.sh[3], C.sh[2], C.sh[1], \
                                        C.sh[0]);                                                     \
    const __m512i mask = _mm512_set1_epi64((long long)C.mask)

/* b = 4, f16 table: one gather brings 8 codewords = 32 f16 weights, widened in two halves. */
static inline __attribute__((always_inline)) void vq_groups512_b4h(const uint8_t* codes, int32_t bits,
                                                                  const uint16_t* cbh, const float* x, int64_t j,
                                                                  int64_t j_end, int64_t v, __m512* acc) {
    VQ_CUT512_SETUP(bits);
    __m512 a0 = acc[0], a1 = acc[1];
    const uint8_t* p = codes + (v >> 3) * bits;
    for (; j < j_end; j += 32, p += bits) {
        __m512i g = _mm512_i64gather_epi64(vq_cut8_512(p, &C, sh, mask), (const void*)cbh, 8);
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(g)), _mm512_loadu_ps(x + j), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(g, 1)), _mm512_loadu_ps(x + j + 16), a1);
    }
    acc[0] = a0; acc[1] = a1;
}

/* b = 2, f32 table: one gather brings 8 codewords = 16 f32 weights, used as they are; two groups a
 * step into two accumulators, so the FMA latency is not a chain of one a group. */
static inline __attribute__((always_inline)) void vq_groups512_b2(const uint8_t* codes, int32_t bits, const float* cb,
                                                                 const float* x, int64_t j, int64_t j_end,
                                                                 int64_t v, __m512* acc) {
    VQ_CUT512_SETUP(bits);
    __m512 a0 = acc[0], a1 = acc[1];
    const uint8_t* p = codes + (v >> 3) * bits;
    for (; j + 32 <= j_end; j += 32, p += 2 * bits) {
        __m512i g0 = _mm512_i64gather_epi64(vq_cut8_512(p, &C, sh, mask), (const void*)cb, 8);
        __m512i g1 = _mm512_i64gather_epi64(vq_cut8_512(p + bits, &C, sh, mask), (const void*)cb, 8);
        a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(g0), _mm512_loadu_ps(x + j), a0);
        a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(g1), _mm512_loadu_ps(x + j + 16), a1);
    }
    if (j < j_end) { /* an odd group */
        __m512i g0 = _mm512_i64gather_epi64(vq_cut8_512(p, &C, sh, mask), (const void*)cb, 8);
        a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(g0), _mm512_loadu_ps(x + j), a0);
    }
    acc[0] = a0; acc[1] = a1;
}
#undef VQ_CUT512_SETUP
/* Left on AVX2: b = 8 (one 32-byte codeword is already one load feeding one 8-wide FMA; pairing two
 * into a zmm adds a shuffle-port insert per pair) and b = 4 from the f32 table (not a preset: each
 * 16-byte codeword would take two gathered qwords and a permute to pair the indices). */
#endif

/* vq_row_dot for layouts vq_grouped accepts: whole vectors one by one up to a vector index
 * divisible by 8, whole groups of 8, then the rest one by one. The head and tail stay scalar under
 * AVX-512 too: in real layers cols is a multiple of 8 b (4096, 11008, ...), so they are empty. */
static float vq_row_dot_grouped(const vq_layer* L, int64_t i, const float* x, int64_t cols) {
    const int64_t b = L->b;
    int64_t v, j;
    float acc = vq_row_head(L, i, x, cols, &v, &j);
    for (; (v & 7) != 0 && j + b <= cols; j += b, v++) {
        const float* w = vq_word(L, v);
        for (int64_t t = 0; t < b; t++) acc += w[t] * x[j + t];
    }
    int64_t span = 8 * b;
    int64_t j_end = j + (cols - j) / span * span;
    if (j_end > j) {
#ifdef JVQ_AVX512
        if (b == 2 || (b == 4 && L->bits == 11 && L->cbh)) {
            __m512 a[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
            if (b == 4) vq_groups512_b4h(L->codes, 11, L->cbh, x, j, j_end, v, a);
            else if (L->bits == 11) vq_groups512_b2(L->codes, 11, L->cb, x, j, j_end, v, a);
            else vq_groups512_b2(L->codes, L->bits, L->cb, x, j, j_end, v, a);
            acc += jvq_hsum512(_mm512_add_ps(a[0], a[1]));
        } else
#endif
        {
            __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            const char* cb = (const char*)L->cb;
            /* K = 2048 (both presets) gets its own copies with the shifts as constants. */
            if (b == 4 && L->bits == 11 && L->cbh) vq_groups_b4h(L->codes, 11, (const char*)L->cbh, x, j, j_end, v, a);
            else if (b == 4 && L->bits == 11) vq_groups_b4(L->codes, 11, cb, x, j, j_end, v, a);
            else if (b == 4) vq_groups_b4(L->codes, L->bits, cb, x, j, j_end, v, a);
            else if (b == 2 && L->bits == 11) vq_groups_b2(L->codes, 11, cb, x, j, j_end, v, a);
            else if (b == 2) vq_groups_b2(L->codes, L->bits, cb, x, j, j_end, v, a);
            else vq_groups_b8(L->codes, L->bits, cb, x, j, j_end, v, a);
            acc += jvq_hsum256(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
        }
        v += (j_end - j) / b;
        j = j_end;
    }
    return vq_row_tail(L, x, cols, v, j, acc);
}

#ifndef JVQ_AVX512
/* Lane masks: the first n lanes set. */
static const int32_t vq_first_lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
#endif

/* The row's sparse residuals, Σ S_ij x[j] over the entries from *p on whose flat index lies in
 * [lo, lo + cols) — the same entries, in order, as the plain loop after the #ifdef (which stops at
 * the first index >= lo + cols and skips any below lo) — leaving *p at that first index. The AVX2
 * path takes 8 entries a step with a masked gather of x. */
static inline float vq_row_sparse(const int32_t* flat_idx, const uint16_t* val, int64_t nnz, int64_t* pp,
                                  int64_t lo, int64_t cols, const float* x) {
    int64_t p = *pp, hi = lo + cols;
    float sparse = 0.0f;
#ifdef JVQ_AVX512
    /* 16 entries a step, and no scalar end: the compares land in mask registers (no movemask, no
     * lane-mask table), and masked loads take the last 1..15 entries of the array, which the AVX2
     * path leaves to the scalar loop (it needs 8 readable entries). Half the steps of the AVX2 loop
     * for a row's few dozen residuals. SIMDe 0.8.2 has no _mm512_mask_i32gather_ps, so lanes not
     * taken gather x[0] (cols > 0) and are zeroed after: a gather's cost does not depend on its mask,
     * so real hardware pays the same. */
    if (p < nnz && cols > 0 && hi <= INT32_MAX) {
        /* lo + cols < 2^31, so rel = idx - lo fits in int32; in the row iff 0 <= rel < cols. */
        const __m512i vlo = _mm512_set1_epi32((int32_t)lo);
        const __m512i vcols = _mm512_set1_epi32((int32_t)cols);
        const __m512i zero = _mm512_setzero_si512();
        __m512 a = _mm512_setzero_ps();
        for (;;) {
            int64_t left = nnz - p;
            int n = left < 16 ? (int)left : 16;
            __mmask16 in = (__mmask16)((1u << n) - 1u);
            __m512i rel = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(in, flat_idx + p), vlo);
            __mmask16 past = _mm512_mask_cmpge_epi32_mask(in, rel, vcols);
            __mmask16 take = _mm512_mask_cmpge_epi32_mask(in, rel, zero);
            if (past) {
                n = __builtin_ctz((unsigned)past);
                take &= (__mmask16)((1u << n) - 1u);
            }
            __m512 xs = _mm512_maskz_mov_ps(take, _mm512_i32gather_ps(_mm512_maskz_mov_epi32(take, rel), x, 4));
            __m512 s = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(take, val + p));
            a = _mm512_fmadd_ps(s, xs, a);
            p += n;
            if (past || p >= nnz) break;
        }
        *pp = p;
        return jvq_hsum512(a);
    }
#elif defined(JVQ_AVX2)
    if (p + 8 <= nnz && cols < INT32_MAX) {
        /* Flat indices and lo are < 2^31, so rel = idx - lo fits in int32; in the row iff
         * 0 <= rel < cols, past it iff rel >= cols. */
        const __m256i vlo = _mm256_set1_epi32((int32_t)lo);
        const __m256i last = _mm256_set1_epi32((int32_t)(cols - 1));
        const __m256i minus1 = _mm256_set1_epi32(-1);
        __m256 a = _mm256_setzero_ps();
        int done = 0;
        while (p + 8 <= nnz) {
            __m256i rel = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i*)(flat_idx + p)), vlo);
            int past = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(rel, last)));
            __m256i take = _mm256_cmpgt_epi32(rel, minus1);
            int n = 8;
            if (past) {
                n = __builtin_ctz((unsigned)past);
                take = _mm256_and_si256(take, _mm256_loadu_si256((const __m256i*)(vq_first_lanes + 8 - n)));
                done = 1;
            }
            __m256 xs = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), x, rel, _mm256_castsi256_ps(take), 4);
            __m256 s = _mm256_and_ps(jvq_load8_f16(val + p), _mm256_castsi256_ps(take));
            a = _mm256_fmadd_ps(s, xs, a);
            p += n;
            if (done) break;
        }
        sparse = jvq_hsum256(a);
        if (done) {
            *pp = p;
            return sparse;
        }
    }
#endif
    for (; p < nnz && flat_idx[p] < hi; p++) {
        if (flat_idx[p] >= lo) sparse += jvq_f16_to_float(val[p]) * x[flat_idx[p] - lo];
    }
    *pp = p;
    return sparse;
}

void jvq_vq_gemv(const uint8_t* codes, int32_t bits, const uint16_t* codebook, int64_t k, int64_t b,
                 const uint16_t* row_scale, const int32_t* flat_idx, const uint16_t* val, int64_t nnz,
                 const float* x, float* y, int64_t rows, int64_t cols) {
    if (rows <= 0) return;
    _Alignas(32) float stack_buf[VQ_STACK_FLOATS];
    float* heap;
    int grouped = 0;
    int64_t table_rows = k + 1;
#ifdef JVQ_AVX2
    grouped = vq_grouped(bits, b);
    if (grouped && (1ll << bits) > table_rows) table_rows = 1ll << bits; /* a row for every code */
#endif
    float* cb = codebook_table_rows(codebook, k, b, table_rows, stack_buf, &heap);
    if (!cb) { /* no memory for the table: say so in the output rather than crash */
        for (int64_t i = 0; i < rows; i++) y[i] = NAN;
        return;
    }
    vq_layer L = {codes, bits, cb, k, b, NULL};
    /* Grouped b = 4 with 11-bit codes (hasvq-mid): an f16 table for the groups (16 KiB more stack; the
     * f32 one still serves the partial vectors at row ends). The codebook is f16 already: a copy,
     * NaN rows after. */
    _Alignas(32) uint16_t half_buf[2048 * 4];
    if (grouped && b == 4 && bits == 11 && k <= 2048) {
        memcpy(half_buf, codebook, (size_t)(k * b) * sizeof(uint16_t));
        for (int64_t e = k * b; e < 2048 * 4; e++) half_buf[e] = 0x7e00u;
        L.cbh = half_buf;
    }
    int nt = jvq_threads_for(rows * cols * 4);
    if (nt > rows) nt = (int)rows;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t r0, r1;
        jvq_split(rows, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
        int64_t p = nnz > 0 ? jvq_lower_bound_i32(flat_idx, nnz, r0 * cols) : 0;
        for (int64_t i = r0; i < r1; i++) {
#ifdef JVQ_AVX2
            float acc = grouped ? vq_row_dot_grouped(&L, i, x, cols) : vq_row_dot(&L, i, x, cols);
#else
            float acc = vq_row_dot(&L, i, x, cols);
#endif
            float sparse = nnz > 0 ? vq_row_sparse(flat_idx, val, nnz, &p, i * cols, cols, x) : 0.0f;
            float s = row_scale ? jvq_f16_to_float(row_scale[i]) : 1.0f;
            y[i] = s * (acc + sparse);
        }
    }
    free(heap);
}

/* No AVX-512 form: a tile is dequantised once for a GEMM over n tokens (VqLinear.gemm), so its
 * cost is amortised n ways, and each codeword is already one load and one store. */
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
    vq_layer L = {codes, bits, cb, k, b, NULL};
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
