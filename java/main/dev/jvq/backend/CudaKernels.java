package dev.jvq.backend;

import static jcuda.driver.JCudaDriver.cuFuncGetAttribute;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import dev.jvq.JvqException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;

/**
 * The kernels of cuda/*.cu, loaded from the fatbins that `make cuda` embeds as classpath resources
 * ({@code /cuda/<module>.fatbin}), and a launcher that packs Java arguments the way the
 * {@code extern "C"} kernels declare them: {@link CUdeviceptr} → pointer, {@code Long} → long long,
 * {@code Integer} → int, {@code Float} → float. Only constructed by {@link CudaBackend}, with a
 * current context.
 */
final class CudaKernels implements AutoCloseable {

    /** Every kernel the backend launches, by module (file cuda/&lt;module&gt;.cu). */
    static final Map<String, List<String>> MODULES = Map.of(
            "dense", List.of("jvq_gemv_f32", "jvq_gemv_f16", "jvq_gemv_bf16", "jvq_gemm_f32", "jvq_gemm_f16",
                    "jvq_gemm_bf16", "jvq_sgemm"),
            "elementwise", List.of("jvq_rmsnorm", "jvq_softmax", "jvq_rope", "jvq_silu_mul", "jvq_add"),
            "attention", List.of("jvq_attention"),
            "calib", List.of("jvq_hessian_diag_accumulate", "jvq_kmeans_assign"),
            "vq", List.of("jvq_sparse_scatter", "jvq_vq_gemv", "jvq_vq_dequant_rows"),
            "rtn", List.of("jvq_rtn_gemv", "jvq_rtn_dequant_rows"),
            "pq", List.of("jvq_pq_gemv_group", "jvq_pq_dequant_rows_group"));

    /** Classpath resource of a module's fatbin. */
    static String resource(String module) {
        return "/cuda/" + module + ".fatbin";
    }

    /** A kernel and the dynamic shared memory it may use (raised to the device's opt-in limit). */
    record Kernel(String name, CUfunction function, int maxDynamicSmem) {}

    private final List<CUmodule> modules = new ArrayList<>();
    private final Map<String, Kernel> kernels = new HashMap<>();

    CudaKernels(int smemOptIn) {
        try {
            for (Map.Entry<String, List<String>> e : MODULES.entrySet()) {
                CUmodule module = new CUmodule();
                byte[] image = readResource(resource(e.getKey()));
                CudaBackend.check(cuModuleLoadData(module, image), "loading " + resource(e.getKey()));
                modules.add(module);
                for (String name : e.getValue()) {
                    CUfunction f = new CUfunction();
                    CudaBackend.check(cuModuleGetFunction(f, module, name), "finding kernel " + name);
                    int[] staticSmem = new int[1];
                    CudaBackend.check(cuFuncGetAttribute(staticSmem, CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f),
                            "querying kernel " + name);
                    int dyn = Math.max(0, smemOptIn - staticSmem[0]);
                    CudaBackend.check(cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, dyn),
                            "raising the shared memory limit of " + name);
                    kernels.put(name, new Kernel(name, f, dyn));
                }
            }
        } catch (RuntimeException | Error ex) {
            close();
            throw ex;
        }
    }

    private static byte[] readResource(String path) {
        try (InputStream in = CudaKernels.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new JvqException("CUDA kernels missing: resource " + path + " is not in this build (build with nvcc"
                        + " present: 'make cuda build')");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new JvqException("CUDA kernels unreadable: resource " + path + ": " + e.getMessage(), e);
        }
    }

    Kernel get(String name) {
        Kernel k = kernels.get(name);
        if (k == null) {
            throw new IllegalStateException("kernel " + name + " was not loaded");
        }
        return k;
    }

    /** Launches a 2-D grid of 1-D blocks on the default stream (asynchronous). */
    void launch(String name, long gridX, long gridY, int block, long smem, Object... args) {
        Kernel k = get(name);
        if (gridX <= 0 || gridY <= 0) {
            return; // nothing to do; callers return early for empty work, this is a guard
        }
        if (gridX > Integer.MAX_VALUE || gridY > 65535 || smem > k.maxDynamicSmem()) {
            throw new IllegalStateException(name + ": launch of " + gridX + " x " + gridY + " blocks, " + smem
                    + " bytes shared memory exceeds the device limits");
        }
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = switch (args[i]) {
                case CUdeviceptr p -> Pointer.to(p);
                case Long v -> Pointer.to(new long[] {v});
                case Integer v -> Pointer.to(new int[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException(name + ": argument " + i + " of unsupported type "
                        + args[i].getClass().getName());
            };
        }
        CudaBackend.check(cuLaunchKernel(k.function(), (int) gridX, (int) gridY, 1, block, 1, 1, (int) smem, null,
                Pointer.to(params), null), "launching " + name);
    }

    @Override
    public void close() {
        for (CUmodule m : modules) {
            cuModuleUnload(m);
        }
        modules.clear();
        kernels.clear();
    }
}
