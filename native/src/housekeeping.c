/* ABI version, thread bound and build description. */
#include <stdatomic.h>
#include <omp.h>
#include "jvq_cpu.h"

/* 0 = the OpenMP default: OMP_NUM_THREADS if set, else every core this process may run on. */
static atomic_int g_thread_bound = 0;

int32_t jvq_abi_version(void) {
    return JVQ_ABI_VERSION;
}

int jvq_threads(void) {
    int bound = atomic_load_explicit(&g_thread_bound, memory_order_relaxed);
    int all = omp_get_max_threads();
    return bound > 0 && bound < all ? bound : all;
}

int32_t jvq_max_threads(void) {
    return jvq_threads();
}

void jvq_set_num_threads(int32_t n) {
    atomic_store_explicit(&g_thread_bound, n > 0 ? n : 0, memory_order_relaxed);
}

#define JVQ_STR2(x) #x
#define JVQ_STR(x) JVQ_STR2(x)

#if defined(__clang__)
#define JVQ_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define JVQ_COMPILER "gcc " JVQ_STR(__GNUC__) "." JVQ_STR(__GNUC_MINOR__) "." JVQ_STR(__GNUC_PATCHLEVEL__)
#else
#define JVQ_COMPILER "unknown compiler"
#endif

#if defined(JVQ_AVX512) && defined(JVQ_EMULATE_AVX512)
#define JVQ_ISA "avx512f avx512bw avx512vl (emulated by SIMDe on avx2, for tests) avx2 fma f16c"
#elif defined(JVQ_AVX512)
#define JVQ_ISA "avx512f avx512bw avx512vl avx2 fma f16c"
#elif defined(JVQ_AVX2)
#define JVQ_ISA "avx2 fma f16c"
#else
#define JVQ_ISA "portable C"
#endif

const char* jvq_build_info(void) {
    return JVQ_COMPILER " " JVQ_ISA " openmp " JVQ_STR(_OPENMP);
}
