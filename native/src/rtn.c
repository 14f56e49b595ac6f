/* Fused RTN-dequant GEMV and row dequantisation (layout: java/main/dev/jvq/format/FORMAT.md,
 * dev.jvq.quant.RtnLinear). Codes u are unsigned, `bits` (2..8) wide, packed LSB-first row-major
 * over the whole rows x cols matrix (so a row need not start on a byte); groups of `group` columns
 * (0 = the whole row; a short last group) carry an f16 scale s and, when asymmetric, an f16
 * minimum lo:
 *   symmetric   w = s * (u - (2^(bits-1) - 1))
 *   asymmetric  w = lo + u * s
 *
 * GEMV never forms w: per group it sums (u - off) * x_j in f32 (off = 2^(bits-1) - 1 symmetric, 0
 * asymmetric, so the symmetric sum has no large cancelling offset) and adds s * dot, plus
 * lo * sum(x over the group) when asymmetric (those sums are the same for every row and are taken
 * once per call). The AVX2 path decodes 8 codes from one unaligned 64-bit load with variable
 * shifts (8 codes of <= 8 bits plus a <= 7-bit start offset fit in 64 bits); 4-bit codes from a
 * byte boundary take a nibble path: each 32-bit word of 8 codes is broadcast and split by per-lane shifts.
 * When every row and group of 4-bit codes starts on a byte and on a 16-column block (even cols, group
 * 0 or a multiple of 16), GEMV uses rtn_dot4_perm instead: 8 code bytes widened to 8 lanes give 16
 * codes with one mask and one shift, against x permuted once per call; it sums u * x and takes
 * off * (sum of x over the group's blocks, also once per call) away per group, saving a subtract
 * per 8 weights. The AVX-512 build (JVQ_AVX512) does both 16 lanes a step: any width from any bit
 * offset with one vpshufb per 16 codes (rtn_dot512), and rtn_dot4_perm512 over blocks of 32.
 *
 * Row dequantisation reproduces RtnLinear.dequantizeRows bit for bit: f32 product (and sum),
 * never a fused multiply-add. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "jvq_cpu.h"

/* Group x-sums up to this many groups live on the stack. */
#define RTN_STACK_GROUPS 4096

static inline double rtn_sum_f64(const float* x, int64_t n) {
    double s = 0.0;
    for (int64_t j = 0; j < n; j++) s += x[j];
    return s;
}

static inline int64_t rtn_group_len(int64_t group, int64_t cols) {
    return group == 0 ? cols : group;
}

/* Scalar: sum over j in [c0, c1) of (u(f0 + j) - off) * x[j]. */
static inline float rtn_dot_scalar(const uint8_t* codes, int32_t bits, int32_t off, int64_t f0, const float* x,
                                   int64_t c0, int64_t c1) {
    float acc = 0.0f;
    for (int64_t j = c0; j < c1; j++) acc += (float)((int32_t)jvq_read_code(codes, f0 + j, bits) - off) * x[j];
    return acc;
}

#ifdef JVQ_AVX2
static inline int32_t rtn_load32(const uint8_t* p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Codes f .. f+7 as 8 int32 lanes: broadcast the 64-bit word holding them, shift lane pairs by
 * t*bits and (t+4)*bits, take the low 32-bit half of each lane from the first and the high half from
 * the second, mask, and put the eight codes back in order. */
static inline __m256i rtn_codes8(const uint8_t* codes, int32_t bits, int64_t f, __m256i sh_lo, __m256i sh_hi,
                                 __m256i mask, __m256i order) {
    uint64_t bitpos = (uint64_t)f * (uint64_t)bits;
    uint64_t word;
    memcpy(&word, codes + (bitpos >> 3), sizeof word);
    __m256i w = _mm256_set1_epi64x((long long)(word >> (bitpos & 7u)));
    __m256i lo = _mm256_srlv_epi64(w, sh_lo);                      /* codes t   in the low halves */
    __m256i hi = _mm256_slli_epi64(_mm256_srlv_epi64(w, sh_hi), 32); /* codes t+4 in the high halves */
    __m256i c = _mm256_and_si256(_mm256_blend_epi32(lo, hi, 0xaa), mask); /* c0 c4 c1 c5 c2 c6 c3 c7 */
    return _mm256_permutevar8x32_epi32(c, order);
}

/* 4-bit codes from a byte boundary, 16 a step: vpmovzxbd widens 8 code bytes into 8 lanes, byte k
 * (codes 2k and 2k + 1) in lane k, so lane & 15 holds the even code and lane >> 4 the odd one — two
 * ops for 16 codes. xp is x with each aligned block of 16 permuted the same way (its 8 even
 * columns, then its 8 odd ones), made once per call. Returns the sum over the n (a multiple of 16)
 * columns at bytes p, xp of u * x: the caller takes off * (sum of x) away, once per group. */
static inline float rtn_dot4_perm(const uint8_t* p, const float* xp, int64_t n) {
    const __m256i low4 = _mm256_set1_epi32(0x0f);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t j = 0;
#define RTN_BYTES8(q) _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(p + (q))))
#define RTN_LO(v) _mm256_cvtepi32_ps(_mm256_and_si256((v), low4))
#define RTN_HI(v) _mm256_cvtepi32_ps(_mm256_srli_epi32((v), 4))
    for (; j + 32 <= n; j += 32) {
        __m256i b0 = RTN_BYTES8(j >> 1), b1 = RTN_BYTES8((j >> 1) + 8);
        a0 = _mm256_fmadd_ps(RTN_LO(b0), _mm256_loadu_ps(xp + j), a0);
        a1 = _mm256_fmadd_ps(RTN_HI(b0), _mm256_loadu_ps(xp + j + 8), a1);
        a2 = _mm256_fmadd_ps(RTN_LO(b1), _mm256_loadu_ps(xp + j + 16), a2);
        a3 = _mm256_fmadd_ps(RTN_HI(b1), _mm256_loadu_ps(xp + j + 24), a3);
    }
    if (j < n) {
        __m256i b0 = RTN_BYTES8(j >> 1);
        a0 = _mm256_fmadd_ps(RTN_LO(b0), _mm256_loadu_ps(xp + j), a0);
        a1 = _mm256_fmadd_ps(RTN_HI(b0), _mm256_loadu_ps(xp + j + 8), a1);
    }
#undef RTN_BYTES8
#undef RTN_LO
#undef RTN_HI
    return jvq_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

#endif /* JVQ_AVX2 helpers */

#ifdef JVQ_AVX512
/* The AVX-512 GEMV decodes 16 codes a step, of any width 2..8 and from any bit offset, with one
 * shuffle: the 16 (bits <= 3: 8) bytes holding them are broadcast to all four 128-bit lanes
 * straight from memory (a load-port op), vpshufb puts into 32-bit lane t the two bytes holding
 * code t (a code of <= 8 bits at bit offset <= 7 spans at most two), and vpsrlvd + vpandd shift
 * and mask each lane. Per 16 weights that is one shuffle-port uop and 6 ALU uops in all, where the
 * AVX2 path spends 10 (nibbles) to 16 (5..7 bits: a GPR broadcast and a vpermd per 8 codes); the
 * tails of 1..15 columns (and groups shorter than 16, e.g. rtnN-g7) are one masked step instead of
 * a scalar loop. Every 8 codes advance exactly `bits` bytes, so the bit offset sh of a range's
 * first code holds all along it and the shuffle and shift vectors depend on (bits, sh) alone: they
 * are tabled once per call for the 8 values of sh. */
typedef struct {
    int32_t shuf[8][16];  /* per sh: byte indices k, k + 1 of code t in lane t (0x80 = zero) */
    int32_t shift[8][16]; /* per sh: the code's bit offset within those bytes */
} rtn_ctl512;

static void rtn_ctl512_init(rtn_ctl512* ctl, int32_t bits) {
    for (int sh = 0; sh < 8; sh++) {
        for (int t = 0; t < 16; t++) {
            int pos = sh + t * bits, k = pos >> 3;
            uint32_t k1 = k + 1 < 16 ? (uint32_t)(k + 1) : 0x80u;
            ctl->shuf[sh][t] = (int32_t)(0x80800000u | (k1 << 8) | (uint32_t)k);
            ctl->shift[sh][t] = pos & 7;
        }
    }
}

/* 16 bytes widened to 16 int32 lanes (vpmovzxbd zmm: one shuffle uop). */
static inline __m512i rtn_widen16(__m128i b) {
    return _mm512_cvtepu8_epi32(b);
}

/* The first r (0..16) floats at p, the other lanes zero; never touches memory past p + r. */
static inline __m512 rtn_load_first_ps(const float* p, int r) {
    return _mm512_maskz_loadu_ps((__mmask16)((1u << r) - 1u), p);
}

/* The first nb (0..16) bytes at p, the others zero; never touches memory past p + nb. */
static inline __m128i rtn_load_first_bytes(const uint8_t* p, int nb) {
    return _mm_maskz_loadu_epi8((__mmask16)((1u << nb) - 1u), p);
}

/* The bytes holding 16 codes from p, in every 128-bit lane. Narrow codes (<= 3 bits: 16 of them
 * plus sh fit 64 bits) read 8 bytes, wider ones 16; either way no more than 8 bytes past the last
 * byte the step needs, which the zero tail after every code stream covers. */
static inline __m512i rtn_bytes16(const uint8_t* p, int wide) {
    if (wide) return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i*)p));
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return _mm512_set1_epi64((long long)w);
}

/* Sum over j in [c0, c1) of (u(f0 + j) - off) * x[j], bits 2..7 (wide: bits >= 4). */
static inline float rtn_dot512_shuf(const uint8_t* codes, int32_t bits, int32_t off, int64_t f0, const float* x,
                                    int64_t c0, int64_t c1, const rtn_ctl512* ctl, int wide) {
    uint64_t bit0 = (uint64_t)(f0 + c0) * (uint64_t)bits;
    const uint8_t* p = codes + (bit0 >> 3);
    int sh = (int)(bit0 & 7u);
    const __m512i shuf = _mm512_loadu_si512(ctl->shuf[sh]);
    const __m512i shift = _mm512_loadu_si512(ctl->shift[sh]);
    const __m512i mask = _mm512_set1_epi32((1 << bits) - 1);
    const __m512i voff = _mm512_set1_epi32(off);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t j = c0;
#define RTN_CODES16(v) _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(_mm512_srlv_epi32( \
        _mm512_shuffle_epi8((v), shuf), shift), mask), voff))
    for (; j + 32 <= c1; j += 32, p += 4 * bits) { /* two independent chains */
        a0 = _mm512_fmadd_ps(RTN_CODES16(rtn_bytes16(p, wide)), _mm512_loadu_ps(x + j), a0);
        a1 = _mm512_fmadd_ps(RTN_CODES16(rtn_bytes16(p + 2 * bits, wide)), _mm512_loadu_ps(x + j + 16), a1);
    }
    if (j + 16 <= c1) {
        a0 = _mm512_fmadd_ps(RTN_CODES16(rtn_bytes16(p, wide)), _mm512_loadu_ps(x + j), a0);
        j += 16;
        p += 2 * bits;
    }
    if (j < c1) { /* 1..15 left: only the bytes they occupy, x zero in the lanes past them */
        int r = (int)(c1 - j);
        __m512i v = _mm512_broadcast_i32x4(rtn_load_first_bytes(p, (sh + r * bits + 7) >> 3));
        a1 = _mm512_fmadd_ps(RTN_CODES16(v), rtn_load_first_ps(x + j, r), a1);
    }
#undef RTN_CODES16
    return jvq_hsum512(_mm512_add_ps(a0, a1));
}

/* 8-bit codes: one byte each, widened straight from memory. */
static inline float rtn_dot512_u8(const uint8_t* p, int32_t off, const float* x, int64_t n) {
    const __m512i voff = _mm512_set1_epi32(off);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t j = 0;
#define RTN_U8X16(b) _mm512_cvtepi32_ps(_mm512_sub_epi32(rtn_widen16(b), voff))
    for (; j + 32 <= n; j += 32) {
        a0 = _mm512_fmadd_ps(RTN_U8X16(_mm_loadu_si128((const __m128i*)(p + j))), _mm512_loadu_ps(x + j), a0);
        a1 = _mm512_fmadd_ps(RTN_U8X16(_mm_loadu_si128((const __m128i*)(p + j + 16))), _mm512_loadu_ps(x + j + 16),
                             a1);
    }
    if (j + 16 <= n) {
        a0 = _mm512_fmadd_ps(RTN_U8X16(_mm_loadu_si128((const __m128i*)(p + j))), _mm512_loadu_ps(x + j), a0);
        j += 16;
    }
    if (j < n) {
        int r = (int)(n - j);
        a1 = _mm512_fmadd_ps(RTN_U8X16(rtn_load_first_bytes(p + j, r)), rtn_load_first_ps(x + j, r), a1);
    }
#undef RTN_U8X16
    return jvq_hsum512(_mm512_add_ps(a0, a1));
}

/* AVX-512 sum over j in [c0, c1) of (u(f0 + j) - off) * x[j]. */
static float rtn_dot512(const uint8_t* codes, int32_t bits, int32_t off, int64_t f0, const float* x, int64_t c0,
                        int64_t c1, const rtn_ctl512* ctl) {
    if (c1 <= c0) return 0.0f;
    if (bits == 8) return rtn_dot512_u8(codes + f0 + c0, off, x + c0, c1 - c0);
    return bits <= 3 ? rtn_dot512_shuf(codes, bits, off, f0, x, c0, c1, ctl, 0)
                     : rtn_dot512_shuf(codes, bits, off, f0, x, c0, c1, ctl, 1);
}

/* 4-bit codes from a byte boundary against x permuted per block of 32 (its 16 even columns, then
 * its 16 odd ones; a last block of 16 in rtn_dot4_perm's order, 8 even then 8 odd): vpmovzxbd
 * widens 16 code bytes into 16 lanes, lane & 15 the even code and lane >> 4 the odd one — per 32
 * weights one shuffle uop and 6 ALU uops, against 2 and 12 for the AVX2 form. Returns the sum over
 * the n (a multiple of 16) columns at bytes p, xp of u * x. */
static inline float rtn_dot4_perm512(const uint8_t* p, const float* xp, int64_t n) {
    const __m512i low4 = _mm512_set1_epi32(0x0f);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t j = 0;
#define RTN_BYTES16(q) rtn_widen16(_mm_loadu_si128((const __m128i*)(p + (q))))
#define RTN_LO(v) _mm512_cvtepi32_ps(_mm512_and_si512((v), low4))
#define RTN_HI(v) _mm512_cvtepi32_ps(_mm512_srli_epi32((v), 4))
    for (; j + 64 <= n; j += 64) {
        __m512i b0 = RTN_BYTES16(j >> 1), b1 = RTN_BYTES16((j >> 1) + 16);
        a0 = _mm512_fmadd_ps(RTN_LO(b0), _mm512_loadu_ps(xp + j), a0);
        a1 = _mm512_fmadd_ps(RTN_HI(b0), _mm512_loadu_ps(xp + j + 16), a1);
        a2 = _mm512_fmadd_ps(RTN_LO(b1), _mm512_loadu_ps(xp + j + 32), a2);
        a3 = _mm512_fmadd_ps(RTN_HI(b1), _mm512_loadu_ps(xp + j + 48), a3);
    }
    if (j + 32 <= n) {
        __m512i b0 = RTN_BYTES16(j >> 1);
        a0 = _mm512_fmadd_ps(RTN_LO(b0), _mm512_loadu_ps(xp + j), a0);
        a1 = _mm512_fmadd_ps(RTN_HI(b0), _mm512_loadu_ps(xp + j + 16), a1);
        j += 32;
    }
    if (j < n) { /* one block of 16: its 8 bytes in both halves, shifted by 0 in the first, 4 in the second */
        uint64_t w;
        memcpy(&w, p + (j >> 1), sizeof w);
        const __m512i half = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4);
        __m512i b = _mm512_srlv_epi32(rtn_widen16(_mm_set1_epi64x((long long)w)), half);
        a2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(b, low4)), _mm512_loadu_ps(xp + j), a2);
    }
#undef RTN_BYTES16
#undef RTN_LO
#undef RTN_HI
    return jvq_hsum512(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* xp for rtn_dot4_perm512: within each group (g columns, a multiple of 16), blocks of 32 as 16
 * even columns then 16 odd, a last block of 16 as 8 even then 8 odd; columns past the whole
 * 16-blocks of the row stay in place. */
static void rtn_permute_x512(const float* x, float* xp, int64_t cols, int64_t g) {
    for (int64_t c0 = 0; c0 < cols; c0 += g) {
        int64_t c1 = c0 + g < cols ? c0 + g : cols;
        int64_t end = c0 + (c1 - c0) / 16 * 16, c = c0;
        for (; c + 32 <= end; c += 32) {
            for (int t = 0; t < 16; t++) {
                xp[c + t] = x[c + 2 * t];
                xp[c + 16 + t] = x[c + 2 * t + 1];
            }
        }
        for (; c + 16 <= end; c += 16) {
            for (int t = 0; t < 8; t++) {
                xp[c + t] = x[c + 2 * t];
                xp[c + 8 + t] = x[c + 2 * t + 1];
            }
        }
        for (; c < c1; c++) xp[c] = x[c];
    }
}
#elif defined(JVQ_AVX2)

/* AVX2 sum over j in [c0, c1) of (u(f0 + j) - off) * x[j]. */
static float rtn_dot(const uint8_t* codes, int32_t bits, int32_t off, int64_t f0, const float* x, int64_t c0,
                     int64_t c1) {
    int64_t j = c0;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256i voff = _mm256_set1_epi32(off);
    float head = 0.0f;
    if (bits == 4 && c1 - c0 >= 16) {
        if ((f0 + j) & 1) { /* start on a byte boundary */
            head = rtn_dot_scalar(codes, bits, off, f0, x, j, j + 1);
            j++;
        }
        /* 8 nibbles = one 32-bit word, broadcast straight from memory (a load, no ALU work) and
         * shifted per lane by 0, 4, .., 28; 32 codes a step into four independent accumulators (one
         * chain would wait on the FMA latency every 8 weights). */
        const __m256i nib_sh = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
        const __m256i low4 = _mm256_set1_epi32(0x0f);
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
#define RTN_NIB8(off8) _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(_mm256_srlv_epi32( \
        _mm256_set1_epi32(rtn_load32(codes + ((f0 + j + (off8)) >> 1))), nib_sh), low4), voff))
        for (; j + 32 <= c1; j += 32) {
            a0 = _mm256_fmadd_ps(RTN_NIB8(0), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(RTN_NIB8(8), _mm256_loadu_ps(x + j + 8), a1);
            a2 = _mm256_fmadd_ps(RTN_NIB8(16), _mm256_loadu_ps(x + j + 16), a2);
            a3 = _mm256_fmadd_ps(RTN_NIB8(24), _mm256_loadu_ps(x + j + 24), a3);
        }
        for (; j + 8 <= c1; j += 8) a0 = _mm256_fmadd_ps(RTN_NIB8(0), _mm256_loadu_ps(x + j), a0);
#undef RTN_NIB8
        a0 = _mm256_add_ps(a0, a2);
        a1 = _mm256_add_ps(a1, a3);
    } else if (bits <= 3 && c1 - c0 >= 16) {
        /* 8 codes of <= 3 bits plus a <= 7-bit start offset fit one 32-bit word, and each step of
         * 8 codes advances exactly `bits` bytes, so the per-lane shifts stay the same all along. */
        uint64_t bit0 = (uint64_t)(f0 + j) * (uint64_t)bits;
        const uint8_t* p = codes + (bit0 >> 3);
        int32_t sh = (int32_t)(bit0 & 7u);
        const __m256i shifts = _mm256_setr_epi32(sh, sh + bits, sh + 2 * bits, sh + 3 * bits, sh + 4 * bits,
                                                 sh + 5 * bits, sh + 6 * bits, sh + 7 * bits);
        const __m256i mask = _mm256_set1_epi32((1 << bits) - 1);
#define RTN_LOW8(q) _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(_mm256_srlv_epi32( \
        _mm256_set1_epi32(rtn_load32(p + (q))), shifts), mask), voff))
        for (; j + 16 <= c1; j += 16, p += 2 * bits) {
            a0 = _mm256_fmadd_ps(RTN_LOW8(0), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(RTN_LOW8(bits), _mm256_loadu_ps(x + j + 8), a1);
        }
        for (; j + 8 <= c1; j += 8, p += bits) a0 = _mm256_fmadd_ps(RTN_LOW8(0), _mm256_loadu_ps(x + j), a0);
#undef RTN_LOW8
    } else if (bits == 8 && c1 - c0 >= 16) { /* one byte per code: widen straight from memory */
        for (; j + 16 <= c1; j += 16) {
            __m256i u0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(codes + f0 + j)));
            __m256i u1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(codes + f0 + j + 8)));
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(u0, voff)), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(u1, voff)), _mm256_loadu_ps(x + j + 8), a1);
        }
    } else if (c1 - c0 >= 8) {
        const __m256i sh_lo = _mm256_setr_epi64x(0, bits, 2 * bits, 3 * bits);
        const __m256i sh_hi = _mm256_setr_epi64x(4 * bits, 5 * bits, 6 * bits, 7 * bits);
        const __m256i mask = _mm256_set1_epi32((1 << bits) - 1);
        const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        for (; j + 16 <= c1; j += 16) { /* two independent chains */
            __m256i u0 = _mm256_sub_epi32(rtn_codes8(codes, bits, f0 + j, sh_lo, sh_hi, mask, order), voff);
            __m256i u1 = _mm256_sub_epi32(rtn_codes8(codes, bits, f0 + j + 8, sh_lo, sh_hi, mask, order), voff);
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(u0), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(u1), _mm256_loadu_ps(x + j + 8), a1);
        }
        for (; j + 8 <= c1; j += 8) {
            __m256i u = _mm256_sub_epi32(rtn_codes8(codes, bits, f0 + j, sh_lo, sh_hi, mask, order), voff);
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(u), _mm256_loadu_ps(x + j), a0);
        }
    }
    return head + jvq_hsum256(_mm256_add_ps(a0, a1)) + rtn_dot_scalar(codes, bits, off, f0, x, j, c1);
}
#else
static float rtn_dot(const uint8_t* codes, int32_t bits, int32_t off, int64_t f0, const float* x, int64_t c0,
                     int64_t c1) {
    return rtn_dot_scalar(codes, bits, off, f0, x, c0, c1);
}
#endif

int32_t jvq_rtn_gemv(const uint8_t* codes, int32_t bits, int64_t group, int32_t symmetric, const uint16_t* scales,
                     const uint16_t* zeros, const float* x, float* y, int64_t rows, int64_t cols) {
    if (bits < 2 || bits > 8 || group < 0 || rows < 0 || cols < 1 || (!symmetric && !zeros)) return -1;
    if (rows == 0) return 0;
    int64_t g = rtn_group_len(group, cols);
    int64_t gpr = (cols + g - 1) / g;
    int32_t off = symmetric ? (1 << (bits - 1)) - 1 : 0;
    /* Asymmetric: sum of x over each group, shared by every row. */
    float stack_sums[RTN_STACK_GROUPS];
    float* xsum = NULL;
    float* heap = NULL;
    if (!symmetric) {
        xsum = stack_sums;
        if (gpr > RTN_STACK_GROUPS) {
            heap = (float*)malloc((size_t)gpr * sizeof(float));
            if (!heap) { /* no memory: say so in the output rather than crash */
                for (int64_t i = 0; i < rows; i++) y[i] = NAN;
                return 0;
            }
            xsum = heap;
        }
        for (int64_t q = 0; q < gpr; q++) {
            int64_t c0 = q * g, c1 = c0 + g < cols ? c0 + g : cols;
            float s = 0.0f;
            for (int64_t j = c0; j < c1; j++) s += x[j];
            xsum[q] = s;
        }
    }
    /* 4-bit codes with every row and group starting on a byte and a 16-column block: x permuted
     * per block of 16 for rtn_dot4_perm (per block of 32 for rtn_dot4_perm512). */
    float* xp = NULL;
    float* fsum = NULL;
    (void)fsum; /* only the AVX2 build reads it */
#ifdef JVQ_AVX2
    if (bits == 4 && cols % 2 == 0 && (group == 0 || g % 16 == 0) && cols >= 16) {
        xp = (float*)malloc((size_t)(cols + gpr) * sizeof(float));
        if (xp) {
#ifdef JVQ_AVX512
            rtn_permute_x512(x, xp, cols, g);
#else
            int64_t m = cols / 16 * 16;
            for (int64_t c = 0; c < m; c += 16) {
                for (int t = 0; t < 8; t++) {
                    xp[c + t] = x[c + 2 * t];
                    xp[c + 8 + t] = x[c + 2 * t + 1];
                }
            }
            for (int64_t c = m; c < cols; c++) xp[c] = x[c];
#endif
            /* fsum[q]: the sum of x over group q's whole 16-column blocks, for the offset. */
            fsum = xp + cols;
            for (int64_t q = 0; q < gpr; q++) {
                int64_t c0 = q * g, c1 = c0 + g < cols ? c0 + g : cols;
                fsum[q] = (float)rtn_sum_f64(x + c0, (c1 - c0) / 16 * 16);
            }
        }
    }
#endif
#ifdef JVQ_AVX512
    rtn_ctl512 ctl;
    rtn_ctl512_init(&ctl, bits);
#endif
    int nt = jvq_threads_for(rows * cols);
    if (nt > rows) nt = (int)rows;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t r0, r1;
        jvq_split(rows, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
        for (int64_t i = r0; i < r1; i++) {
            int64_t f0 = i * cols;
            const uint16_t* srow = scales + i * gpr;
            float acc = 0.0f;
            for (int64_t q = 0; q < gpr; q++) {
                int64_t c0 = q * g, c1 = c0 + g < cols ? c0 + g : cols;
                float dot;
#ifdef JVQ_AVX512
                if (xp) {
                    int64_t n = (c1 - c0) / 16 * 16;
                    dot = (rtn_dot4_perm512(codes + (f0 + c0) / 2, xp + c0, n) - (float)off * fsum[q])
                          + rtn_dot512(codes, bits, off, f0, x, c0 + n, c1, &ctl);
                } else {
                    dot = rtn_dot512(codes, bits, off, f0, x, c0, c1, &ctl);
                }
#else
#ifdef JVQ_AVX2
                if (xp) {
                    int64_t n = (c1 - c0) / 16 * 16;
                    dot = (rtn_dot4_perm(codes + (f0 + c0) / 2, xp + c0, n) - (float)off * fsum[q])
                          + rtn_dot_scalar(codes, bits, off, f0, x, c0 + n, c1);
                } else
#endif
                dot = rtn_dot(codes, bits, off, f0, x, c0, c1);
#endif
                acc += jvq_f16_to_float(srow[q]) * dot;
                if (!symmetric) acc += jvq_f16_to_float(zeros[i * gpr + q]) * xsum[q];
            }
            y[i] = acc;
        }
    }
    free(xp);
    free(heap);
    return 0;
}

#ifdef JVQ_AVX512
/* The first r (0..16) lanes of v stored at p, nothing past p + r written. */
static inline void rtn_store_first_ps(float* p, __m512 v, int r) {
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << r) - 1u), v);
}

/* Codes f .. f + n - 1 of one group dequantised into out, 16 a step with rtn_dot512's decode (the
 * scalar loop reads each code with its own 64-bit load, shift and mask): symmetric s * (u - qmax),
 * asymmetric lo + u * s as a product rounded to f32, then a sum — _mm512_mul_ps and _mm512_add_ps,
 * the same two roundings as RtnLinear.dequantizeRows, never an FMA. A short last step is masked. */
static void rtn_dequant512(const uint8_t* codes, int32_t bits, int64_t f, int64_t n, float s, float lo,
                           int32_t symmetric, int32_t qmax, float* out, const rtn_ctl512* ctl) {
    uint64_t bit0 = (uint64_t)f * (uint64_t)bits;
    const uint8_t* p = codes + (bit0 >> 3);
    int sh = (int)(bit0 & 7u);
    const __m512i shuf = _mm512_loadu_si512(ctl->shuf[sh]);
    const __m512i shift = _mm512_loadu_si512(ctl->shift[sh]);
    const __m512i mask = _mm512_set1_epi32((1 << bits) - 1);
    const __m512i vq = _mm512_set1_epi32(symmetric ? qmax : 0);
    const __m512 vs = _mm512_set1_ps(s), vlo = _mm512_set1_ps(lo);
    int wide = bits >= 4;
#define RTN_W16(v) (symmetric ? _mm512_mul_ps(vs, v) : _mm512_add_ps(vlo, _mm512_mul_ps(v, vs)))
#define RTN_DEC16(b) _mm512_cvtepi32_ps(_mm512_sub_epi32(bits == 8 ? rtn_widen16(_mm512_castsi512_si128(b)) \
        : _mm512_and_si512(_mm512_srlv_epi32(_mm512_shuffle_epi8((b), shuf), shift), mask), vq))
    int64_t j = 0;
    for (; j + 16 <= n; j += 16, p += 2 * bits) {
        __m512i b = bits == 8 ? _mm512_castsi128_si512(_mm_loadu_si128((const __m128i*)p)) : rtn_bytes16(p, wide);
        _mm512_storeu_ps(out + j, RTN_W16(RTN_DEC16(b)));
    }
    if (j < n) {
        int r = (int)(n - j);
        __m512i b = _mm512_broadcast_i32x4(rtn_load_first_bytes(p, (sh + r * bits + 7) >> 3));
        rtn_store_first_ps(out + j, RTN_W16(RTN_DEC16(b)), r);
    }
#undef RTN_W16
#undef RTN_DEC16
}
#endif

int32_t jvq_rtn_dequant_rows(const uint8_t* codes, int32_t bits, int64_t group, int32_t symmetric,
                             const uint16_t* scales, const uint16_t* zeros, float* dst, int64_t row0, int64_t nrows,
                             int64_t cols) {
    if (bits < 2 || bits > 8 || group < 0 || row0 < 0 || nrows < 0 || cols < 1 || (!symmetric && !zeros)) return -1;
    int64_t g = rtn_group_len(group, cols);
    int64_t gpr = (cols + g - 1) / g;
    int32_t qmax = (1 << (bits - 1)) - 1;
#ifdef JVQ_AVX512
    rtn_ctl512 ctl;
    rtn_ctl512_init(&ctl, bits);
#endif
    int nt = jvq_threads_for(nrows * cols);
    if (nt > nrows) nt = (int)(nrows > 0 ? nrows : 1);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < nrows; q++) {
        int64_t i = row0 + q;
        int64_t f0 = i * cols;
        float* out = dst + q * cols;
        for (int64_t p = 0; p < gpr; p++) {
            int64_t c0 = p * g, c1 = c0 + g < cols ? c0 + g : cols;
            float s = jvq_f16_to_float(scales[i * gpr + p]);
#ifdef JVQ_AVX512
            float lo = symmetric ? 0.0f : jvq_f16_to_float(zeros[i * gpr + p]);
            rtn_dequant512(codes, bits, f0 + c0, c1 - c0, s, lo, symmetric, qmax, out + c0, &ctl);
#else
            if (symmetric) {
                for (int64_t j = c0; j < c1; j++) {
                    out[j] = s * (float)((int32_t)jvq_read_code(codes, f0 + j, bits) - qmax);
                }
            } else {
                float lo = jvq_f16_to_float(zeros[i * gpr + p]);
                for (int64_t j = c0; j < c1; j++) {
                    float us = (float)jvq_read_code(codes, f0 + j, bits) * s; /* rounded, then added: no FMA */
                    out[j] = lo + us;
                }
            }
#endif
        }
    }
    return 0;
}
