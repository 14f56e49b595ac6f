package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jvq pull} in-process, against a local fake hub (never the network). */
class PullCommandTest {
    @TempDir
    Path cache;

    @Test
    void pullsIntoTheCacheAndPrintsTheDirectory() throws IOException {
        try (PullDownloadTest.FakeHub hub = new PullDownloadTest.FakeHub()) {
            hub.files.put("config.json", HfConfigTest.SMOLLM2.getBytes(StandardCharsets.UTF_8));
            hub.files.put("model.safetensors", new byte[] {1, 2, 3, 4, 5});
            HfConvertCommandTest.Run r = HfConvertCommandTest.run("pull", "owner/tiny", "--endpoint", hub.endpoint(),
                    "--cache", cache.toString());
            assertEquals(0, r.status(), r.err());
            Path dir = cache.resolve("owner/tiny");
            assertEquals(dir.toString(), r.out().strip());
            assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
            assertTrue(r.err().contains("jvq pull: owner/tiny@main (commit 0123456789ab): 2 files"), r.err());
        }
    }

    @Test
    void unreachableHubIsOneLineWithStatus2() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        HfConvertCommandTest.Run r = HfConvertCommandTest.run("pull", "HuggingFaceTB/SmolLM2-135M", "--endpoint",
                "http://127.0.0.1:" + port, "--connect-timeout", "1", "--cache", cache.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("jvq: cannot reach http://127.0.0.1:" + port + ": "), r.err());
        assertFalse(r.err().strip().contains("\n"), r.err());
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
        assertEquals("", r.out());
    }

    @Test
    void badArgumentsAreOneLine() {
        HfConvertCommandTest.Run r = HfConvertCommandTest.run("pull", "not/a/repo", "--cache", cache.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("jvq: 'not/a/repo' is not a Hugging Face repository id"), r.err());
        r = HfConvertCommandTest.run("pull", "a/b", "--endpoint", "ftp://x", "--cache", cache.toString());
        assertEquals("jvq: --endpoint ftp://x: not an http(s) URL", r.err().strip());
        r = HfConvertCommandTest.run("pull", "a/b", "--connect-timeout", "0");
        assertEquals(2, r.status());
        assertEquals(2, HfConvertCommandTest.run("pull").status(), "REPO_ID is required");
    }
}
