package dev.jvq.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Guards the AVX-512 twin run (pom.xml profile avx512-emulated): the kernel tests of that run must
 * really be calling the library built with the AVX-512 paths, not the default AVX2 build, or they
 * would pass without checking anything new. Runs only when that run names the ISA it expects.
 */
@EnabledIfSystemProperty(named = "jvq.expect.isa", matches = ".+")
class Avx512EmulationTest {

    @Test
    void theLoadedLibraryWasBuiltWithTheExpectedIsa() {
        String expected = System.getProperty("jvq.expect.isa");
        try (CpuBackend cpu = new CpuBackend()) {
            String info = cpu.buildInfo();
            assertTrue(info.contains(expected), "libjvq build info '" + info + "' lacks '" + expected + "'");
        }
    }
}
