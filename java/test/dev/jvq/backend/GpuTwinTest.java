package dev.jvq.backend;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the tests that run a CUDA kernel against its CPU twin: opens both backends once per class.
 * Each subclass carries {@code @EnabledIf("dev.jvq.backend.GpuTwinTest#gpuPresent")}, so without a
 * usable GPU JUnit reports it skipped and nothing here runs.
 */
public abstract class GpuTwinTest {
    protected static CudaBackend gpu;
    protected static CpuBackend cpu;

    public static boolean gpuPresent() {
        return CudaProbe.probe().available();
    }

    @BeforeAll
    static void openBackends() {
        gpu = CudaBackend.open();
        cpu = new CpuBackend();
    }

    @AfterAll
    static void closeBackends() {
        if (gpu != null) {
            gpu.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }
}
