package dev.jvq.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/**
 * Finds out, without failing, whether the CUDA backend can run here, and if not, why — in words a
 * user can act on.
 *
 * <p>Order matters on machines without a GPU: JCuda's driver-API class ({@code JCudaDriver}) and
 * {@code JCublas2} throw {@link UnsatisfiedLinkError} in their static initialisers when
 * {@code libcuda.so.1} is missing, and are unusable afterwards. So the probe first asks the dynamic
 * linker for {@code libcuda.so.1} through the FFM API (no JCuda involved), then counts devices
 * through JCuda's runtime API (which opens the driver lazily and reports cudaError 35 without one),
 * and only the backend itself, once a device is known to exist, touches the driver API. No CUDA class
 * is named in a static initialiser here.
 */
public final class CudaProbe {

    /** Compute capability the fatbin carries code for (sm_80 and newer; see the Makefile). */
    static final int MIN_MAJOR = 8;

    /** What the probe found: a usable device 0, or the reason there is none. */
    public record Result(boolean available, String reason, String device, int deviceCount, int ccMajor, int ccMinor,
            long totalMemory, int multiprocessors) {

        static Result unavailable(String reason) {
            return new Result(false, reason, null, 0, 0, 0, 0, 0);
        }
    }

    private static Result cached;

    private CudaProbe() {}

    /** Probes once per JVM; later calls return the same answer. */
    public static synchronized Result probe() {
        if (cached == null) {
            cached = run();
        }
        return cached;
    }

    private static Result run() {
        if (!libraryLoads("libcuda.so.1")) {
            return Result.unavailable("no CUDA driver: libcuda.so.1 not found");
        }
        try {
            return RuntimeQuery.device0();
        } catch (Throwable t) { // UnsatisfiedLinkError / NoClassDefFoundError from the JCuda natives
            return Result.unavailable("the JCuda runtime library did not load: " + firstLine(t));
        }
    }

    /** True when the dynamic linker can open the library (it is closed again at once). */
    static boolean libraryLoads(String name) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(name, arena);
            return true;
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return false;
        }
    }

    static String firstLine(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        m = m.strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl).strip();
    }

    /**
     * The runtime-API queries, in a nested class so that {@code jcuda.runtime.JCuda} is resolved only
     * when this method runs (after libcuda.so.1 was found).
     */
    private static final class RuntimeQuery {
        private static final int CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
        private static final int CUDA_ERROR_NO_DEVICE = 100;

        static Result device0() {
            int[] count = new int[1];
            int rc = jcuda.runtime.JCuda.cudaGetDeviceCount(count);
            if (rc == CUDA_ERROR_INSUFFICIENT_DRIVER) {
                return Result.unavailable("the CUDA driver is older than the CUDA 12 runtime JCuda needs"
                        + " (cudaErrorInsufficientDriver); update the NVIDIA driver");
            }
            if (rc == CUDA_ERROR_NO_DEVICE || (rc == 0 && count[0] == 0)) {
                return Result.unavailable("no CUDA device found (driver present)");
            }
            if (rc != 0) {
                return Result.unavailable("cudaGetDeviceCount failed: " + jcuda.runtime.JCuda.cudaGetErrorString(rc));
            }
            jcuda.runtime.cudaDeviceProp p = new jcuda.runtime.cudaDeviceProp();
            rc = jcuda.runtime.JCuda.cudaGetDeviceProperties(p, 0);
            if (rc != 0) {
                return Result.unavailable("cudaGetDeviceProperties failed: " + jcuda.runtime.JCuda.cudaGetErrorString(rc));
            }
            String name = p.getName().strip();
            String device = String.format("%s, %.1f GiB, sm_%d%d, %d SMs", name, p.totalGlobalMem / (double) (1L << 30),
                    p.major, p.minor, p.multiProcessorCount);
            if (p.major < MIN_MAJOR) {
                return new Result(false, "GPU " + name + " has compute capability " + p.major + "." + p.minor
                        + "; the jvq kernels need " + MIN_MAJOR + ".0 or newer", device, count[0], p.major, p.minor,
                        p.totalGlobalMem, p.multiProcessorCount);
            }
            return new Result(true, null, device, count[0], p.major, p.minor, p.totalGlobalMem, p.multiProcessorCount);
        }
    }
}
