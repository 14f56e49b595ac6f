/*
 * jvq_math.h — the per-element arithmetic shared by the CPU kernels (native/src, C11) and the CUDA
 * kernels (the .cu files under cuda/, nvcc/C++), so that the CPU tests check the same arithmetic the GPU runs.
 *
 * Everything here is a `static inline JVQ_HD` function of plain scalars and pointers: JVQ_HD is
 * `__host__ __device__` under nvcc and nothing otherwise. Keep the code valid C99 and C++ (explicit
 * casts, no designated initialisers, no VLAs).
 *
 * Naming: the element-wise conversions are jvq_f16_to_float / jvq_float_to_f16 (and bf16); the
 * bulk ABI functions in jvq.h are jvq_f16_to_f32 etc.
 */
#ifndef JVQ_MATH_H
#define JVQ_MATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#ifdef __CUDACC__
#define JVQ_HD __host__ __device__
#else
#define JVQ_HD
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "jvq_math.h: the packed code stream and weight files are little-endian; big-endian hosts are not supported"
#endif

/* ---- bit casts (memcpy is the defined way in C and C++; compilers turn it into a move) ---- */

static inline JVQ_HD uint32_t jvq_float_bits(float f) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

static inline JVQ_HD float jvq_bits_float(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* ---- IEEE binary16 <-> binary32, bit-exact ---- */

/* Exact: every f16 value (normal, subnormal, ±0, ±Inf) is representable. NaNs keep sign and payload
 * and come out quiet (quiet bit set), as F16C's vcvtph2ps does. */
static inline JVQ_HD float jvq_f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1fu) {                         /* Inf, or NaN (quietened, payload kept) */
        return jvq_bits_float(sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0u));
    }
    if (exp == 0) {                             /* zero or subnormal: mant * 2^-24, exact in f32 */
        float v = (float)mant * 5.9604644775390625e-8f;
        return jvq_bits_float(sign | jvq_float_bits(v));
    }
    return jvq_bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

/* Round to nearest, ties to even; overflow to ±Inf; f16 subnormals produced exactly; NaN stays NaN
 * with the quiet bit set and the top payload bits kept (what F16C's vcvtps2ph does). Pure integer
 * arithmetic, so it does not depend on the FPU rounding mode or flush-to-zero settings. */
static inline JVQ_HD uint16_t jvq_float_to_f16(float f) {
    uint32_t x = jvq_float_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) {                                   /* NaN */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    }
    if (ax >= 0x477ff000u) {                                  /* >= 65520 rounds to Inf; Inf */
        return (uint16_t)(sign | 0x7c00u);
    }
    if (ax >= 0x38800000u) {                                  /* normal f16 range (>= 2^-14) */
        uint32_t h = (ax - 0x38000000u) >> 13;                /* rebias exponent 127 -> 15 */
        uint32_t rem = ax & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;  /* carry may bump the exponent */
        return (uint16_t)(sign | h);
    }
    if (ax <= 0x33000000u) {                                  /* <= 2^-25: ties-to-even gives 0 */
        return (uint16_t)sign;
    }
    {                                                         /* f16 subnormal: m * 2^(e-126) units of 2^-24 */
        uint32_t e = ax >> 23;                                /* 102 .. 112 */
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e;                            /* 14 .. 24 */
        uint32_t h = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u))) h++;     /* may become 0x400, the smallest normal */
        return (uint16_t)(sign | h);
    }
}

/* ---- bfloat16 <-> binary32, bit-exact ---- */

static inline JVQ_HD float jvq_bf16_to_float(uint16_t b) {
    return jvq_bits_float((uint32_t)b << 16);
}

/* Round to nearest, ties to even (subnormals kept, not flushed); NaN stays NaN (quiet bit set). */
static inline JVQ_HD uint16_t jvq_float_to_bf16(float f) {
    uint32_t x = jvq_float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t)((x >> 16) | 0x0040u);
    }
    x += 0x7fffu + ((x >> 16) & 1u);                          /* overflow of the top bits gives ±Inf */
    return (uint16_t)(x >> 16);
}

/* ---- activations ---- */

/* silu(x) = x * sigmoid(x) = x / (1 + e^-x). For x -> -inf, e^-x overflows to Inf and the result is
 * -0 (correct limit), never NaN. */
static inline JVQ_HD float jvq_silu(float x) {
    return x / (1.0f + expf(-x));
}

/* 1 / sqrt(mean(x^2) + eps) for a row of length dim whose sum of squares is sumsq. */
static inline JVQ_HD float jvq_rmsnorm_inv_rms(float sumsq, int64_t dim, float eps) {
    return 1.0f / sqrtf(sumsq / (float)dim + eps);
}

/* ---- rotary embedding ---- */

/* The angle of one pair at position pos: computed in f32 as llama2.c and Hugging Face do. */
static inline JVQ_HD float jvq_rope_angle(int32_t pos, float inv_freq) {
    return (float)pos * inv_freq;
}

/* Rotates the pair (*a, *b) by the angle whose cosine and sine are c and s. */
static inline JVQ_HD void jvq_rope_rotate(float* a, float* b, float c, float s) {
    float x0 = *a, x1 = *b;
    *a = x0 * c - x1 * s;
    *b = x0 * s + x1 * c;
}

/* ---- vector quantisation ---- */

/* Squared Euclidean distance of two length-b vectors (f32 accumulation in index order). */
static inline JVQ_HD float jvq_sqdist(const float* u, const float* v, int64_t b) {
    float acc = 0.0f;
    for (int64_t t = 0; t < b; t++) {
        float d = u[t] - v[t];
        acc += d * d;
    }
    return acc;
}

/* The i-th code of a stream of `bits`-wide (1..24) codes packed LSB-first into little-endian bytes:
 * code i occupies stream bits [i*bits, (i+1)*bits), bit n of the stream being bit (n % 8) of byte
 * n / 8. Reads the 8 bytes starting at the code's first byte as one little-endian word (the stream
 * is padded with >= 8 zero bytes, so this never reads past the buffer); shift <= 7 and bits <= 24
 * keep the code inside that word. memcpy compiles to an unaligned load on x86 and to byte loads on
 * the GPU, where a misaligned 64-bit load would fault. */
static inline JVQ_HD uint32_t jvq_read_code(const uint8_t* stream, int64_t i, int32_t bits) {
    uint64_t bitpos = (uint64_t)i * (uint64_t)bits;
    uint64_t word;
    memcpy(&word, stream + (bitpos >> 3), sizeof word);
    return (uint32_t)((word >> (bitpos & 7u)) & ((1ull << bits) - 1ull));
}

/* Element `flat` (row-major index into the rows x cols matrix) of the VQ body R = C[idx]: the lane
 * flat % b of the codeword of vector flat / b. cb is the k x b codebook already converted to f32. */
static inline JVQ_HD float jvq_vq_element(const uint8_t* codes, int32_t bits, const float* cb, int64_t b,
                                          int64_t flat) {
    int64_t vec = flat / b;
    int64_t lane = flat - vec * b;
    return cb[(int64_t)jvq_read_code(codes, vec, bits) * b + lane];
}

/* The same with the codebook still in f16 (k x b). */
static inline JVQ_HD float jvq_vq_element_f16(const uint8_t* codes, int32_t bits, const uint16_t* cb, int64_t b,
                                              int64_t flat) {
    int64_t vec = flat / b;
    int64_t lane = flat - vec * b;
    return jvq_f16_to_float(cb[(int64_t)jvq_read_code(codes, vec, bits) * b + lane]);
}

/* PQ (RSAVQ) element arithmetic: code t of stored column j in a group whose first column is
 * col_start is stream entry (j - col_start) * T + t; its codeword sits in subspace table t mod
 * subspaces. The codeword's first value in a k-entry-per-table f16 codebook of sub_len-long words,
 * with codes >= k mapped to -1 (the caller reads NaN). */
static inline JVQ_HD int64_t jvq_pq_word(const uint8_t* codes, int32_t bits, int64_t k, int32_t sub_len,
                                         int32_t subspaces, int64_t local_col, int64_t T, int64_t t) {
    uint32_t code = jvq_read_code(codes, local_col * T + t, bits);
    if ((int64_t)code >= k) return -1;
    return ((t % subspaces) * k + (int64_t)code) * sub_len;
}

/* Value d of that codeword, from the f16 codebook (NaN for an out-of-range code). */
static inline JVQ_HD float jvq_pq_value_f16(const uint16_t* cb, int64_t word, int32_t d) {
    return word < 0 ? jvq_bits_float(0x7fc00000u) : jvq_f16_to_float(cb[word + d]);
}

#endif /* JVQ_MATH_H */
