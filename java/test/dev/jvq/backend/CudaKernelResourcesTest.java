package dev.jvq.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The kernels the Java side launches and the ones cuda/*.cu defines are the same set, and a build
 * made with nvcc carries each module's fatbin with those kernels in it.
 */
class CudaKernelResourcesTest {

    static final Path CUDA_SOURCES = Path.of("cuda");

    /** nvcc found the way the Makefile finds it: on PATH, else /usr/local/cuda/bin. */
    static boolean nvccPresent() {
        if (Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc"))) {
            return true;
        }
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(":")).anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, "nvcc")));
    }

    /** extern "C" __global__ kernels of each cuda/*.cu, by module name. */
    static Map<String, TreeSet<String>> kernelsInSources() throws IOException {
        Pattern kernel = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void(?:\\s+__launch_bounds__\\([^)]*\\))?\\s+(\\w+)\\s*\\(");
        Map<String, TreeSet<String>> found = new TreeMap<>();
        try (Stream<Path> files = Files.list(CUDA_SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).toList()) {
                String module = f.getFileName().toString().replaceFirst("\\.cu$", "");
                Matcher m = kernel.matcher(Files.readString(f));
                TreeSet<String> names = new TreeSet<>();
                while (m.find()) {
                    names.add(m.group(1));
                }
                found.put(module, names);
            }
        }
        return found;
    }

    @Test
    void javaLaunchesExactlyTheKernelsTheSourcesDefine() throws IOException {
        Map<String, TreeSet<String>> sources = kernelsInSources();
        Map<String, TreeSet<String>> java = new TreeMap<>();
        CudaKernels.MODULES.forEach((module, names) -> java.put(module, new TreeSet<>(names)));
        assertEquals(sources, java);
    }

    @Test
    void everyKernelIsExternC() throws IOException {
        // A __global__ without extern "C" gets a mangled name that cuModuleGetFunction cannot find.
        try (Stream<Path> files = Files.list(CUDA_SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (line.contains("__global__")) {
                        assertTrue(line.contains("extern \"C\""), f + ": " + line);
                    }
                }
            }
        }
    }

    @Test
    @EnabledIf("nvccPresent")
    void fatbinsAreInTheBuildAndContainTheirKernels() throws IOException {
        for (Map.Entry<String, List<String>> e : CudaKernels.MODULES.entrySet()) {
            String res = CudaKernels.resource(e.getKey());
            byte[] image;
            try (InputStream in = CudaKernels.class.getResourceAsStream(res)) {
                assertNotNull(in, res + " missing from the classpath: run 'make cuda' (nvcc is present)");
                image = in.readAllBytes();
            }
            assertTrue(image.length > 1000, res + " is " + image.length + " bytes");
            String text = new String(image, StandardCharsets.ISO_8859_1);
            for (String kernel : e.getValue()) {
                assertTrue(text.contains(kernel), res + " lacks kernel " + kernel);
            }
        }
    }
}
