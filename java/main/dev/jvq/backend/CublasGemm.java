package dev.jvq.backend;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;

/**
 * cuBLAS SGEMM through JCublas2, for the f32 dense products. Only constructed after
 * {@code libcublas.so.12} was found (JCublas2's static initialiser fails without it), with the
 * backend's context current; the default math mode keeps full f32 (no TF32).
 *
 * <p>Row-major products are expressed column-major: a row-major M x N matrix is its column-major
 * transpose, so C = A B becomes Cᵀ = Bᵀ Aᵀ with the operands swapped.
 */
final class CublasGemm implements AutoCloseable {

    private final cublasHandle handle = new cublasHandle();

    CublasGemm() {
        int rc = JCublas2.cublasCreate(handle);
        if (rc != 0) {
            throw new IllegalStateException("cublasCreate failed with status " + rc);
        }
    }

    /** True when every dimension fits cuBLAS's 32-bit int arguments. */
    static boolean fits(long... dims) {
        for (long d : dims) {
            if (d > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /** C[m x n] (+)= A[m x k] B[k x n], row-major f32. */
    void sgemm(CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, long m, long n, long k, boolean accumulate) {
        check(JCublas2.cublasSgemm(handle, cublasOperation.CUBLAS_OP_N, cublasOperation.CUBLAS_OP_N, (int) n, (int) m,
                (int) k, Pointer.to(new float[] {1f}), b, (int) n, a, (int) k, Pointer.to(new float[] {accumulate ? 1f : 0f}),
                c, (int) n), "cublasSgemm");
    }

    /** Y[n x rows] = X[n x cols] Wᵀ with W row-major rows x cols. */
    void gemmXWt(CUdeviceptr w, CUdeviceptr x, CUdeviceptr y, long n, long rows, long cols) {
        // Column-major: Yᵀ (rows x n) = W (rows x cols) · Xᵀ (cols x n); W row-major is (cols x rows) column-major.
        check(JCublas2.cublasSgemm(handle, cublasOperation.CUBLAS_OP_T, cublasOperation.CUBLAS_OP_N, (int) rows, (int) n,
                (int) cols, Pointer.to(new float[] {1f}), w, (int) cols, x, (int) cols, Pointer.to(new float[] {0f}), y,
                (int) rows), "cublasSgemm");
    }

    private static void check(int status, String what) {
        if (status != 0) {
            throw new IllegalStateException(what + " failed with cuBLAS status " + status);
        }
    }

    @Override
    public void close() {
        JCublas2.cublasDestroy(handle);
    }
}
