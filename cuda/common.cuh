/*
 * common.cuh — indexing and reduction helpers shared by the kernels in cuda/*.cu.
 *
 * The arithmetic on elements (dtype conversion, silu, rms scale, rope rotation, distances, code
 * reading) comes from native/include/jvq_math.h, the header the CPU kernels use too, so both sides
 * compute the same function. What lives here is only how threads are laid out over the data.
 *
 * Every kernel is `extern "C"` so the Java side (dev.jvq.backend.CudaBackend) finds it by its plain
 * name with cuModuleGetFunction. Sizes are passed as `long long` (jvq.h's int64_t), flags as int.
 */
#ifndef JVQ_CUDA_COMMON_CUH
#define JVQ_CUDA_COMMON_CUH

#include <stdint.h>
#include "jvq_math.h"

#define JVQ_WARP 32
#define JVQ_FULL_MASK 0xffffffffu

typedef long long i64;

/* Sum over the 32 lanes of a warp; every lane gets the total. */
__device__ __forceinline__ float jvq_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(JVQ_FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float jvq_warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(JVQ_FULL_MASK, v, o));
    return v;
}

/*
 * Block-wide sum / max for blockDim.x a multiple of 32 (at most 1024). `scratch` is 32 floats of
 * shared memory; it is reused, so the function starts and ends with a barrier. Every thread gets
 * the result.
 */
__device__ __forceinline__ float jvq_block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = jvq_warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : 0.0f;
    return jvq_warp_sum(v);
}

__device__ __forceinline__ float jvq_block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    v = jvq_warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : -INFINITY;
    return jvq_warp_max(v);
}

/* Global thread index and grid stride for 1-D grid-stride loops (64-bit: n may exceed 2^31). */
__device__ __forceinline__ i64 jvq_tid() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 jvq_stride() { return (i64)gridDim.x * blockDim.x; }

/* Weight element loaders, one per JVQ_DTYPE_*: the conversion is jvq_math.h's. */
struct JvqLoadF32 {
    typedef float storage;
    static __device__ __forceinline__ float load(const float* p, i64 i) { return __ldg(p + i); }
};
struct JvqLoadF16 {
    typedef uint16_t storage;
    static __device__ __forceinline__ float cvt(uint16_t h) { return jvq_f16_to_float(h); }
    static __device__ __forceinline__ float load(const uint16_t* p, i64 i) { return cvt(__ldg(p + i)); }
};
struct JvqLoadBF16 {
    typedef uint16_t storage;
    static __device__ __forceinline__ float cvt(uint16_t h) { return jvq_bf16_to_float(h); }
    static __device__ __forceinline__ float load(const uint16_t* p, i64 i) { return cvt(__ldg(p + i)); }
};

#endif /* JVQ_CUDA_COMMON_CUH */
