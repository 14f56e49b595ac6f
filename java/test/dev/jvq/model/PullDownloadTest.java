package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.jvq.JvqException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The downloader against a local HTTP server that answers like the hub (file listing, resolve
 * URLs, a redirect to another host for LFS files). No test touches the network.
 */
class PullDownloadTest {
    @TempDir
    Path cache;

    /** A tiny hub on 127.0.0.1; requests are logged with their Authorization header. */
    static final class FakeHub implements AutoCloseable {
        static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
        final HttpServer server;
        final Map<String, byte[]> files = new ConcurrentHashMap<>();
        final List<String> log = new CopyOnWriteArrayList<>();
        /** Overrides of the listed sha256 (to simulate corruption). */
        final Map<String, String> listedSha = new ConcurrentHashMap<>();
        volatile int listingStatus = 200;
        volatile boolean stallWeights;
        volatile boolean truncateWeights;

        FakeHub() throws IOException {
            server = HttpServer.create(new InetSocketAddress(0), 0);
            server.setExecutor(Executors.newCachedThreadPool());
            server.createContext("/", this::handle);
            server.start();
        }

        String endpoint() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        private void handle(HttpExchange ex) throws IOException {
            String path = ex.getRequestURI().getRawPath();
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            log.add(ex.getRequestHeaders().getFirst("Host").replaceAll(":\\d+$", "") + " " + path + " " + auth);
            try (ex) {
                if (path.equals("/api/models/owner/tiny/revision/main")) {
                    if (listingStatus != 200) {
                        send(ex, listingStatus, "{\"error\": \"no\"}".getBytes(StandardCharsets.UTF_8));
                        return;
                    }
                    send(ex, 200, listing().getBytes(StandardCharsets.UTF_8));
                } else if (path.startsWith("/owner/tiny/resolve/" + COMMIT + "/")) {
                    String name = path.substring(("/owner/tiny/resolve/" + COMMIT + "/").length());
                    if (name.endsWith(".safetensors")) {
                        // LFS files live on another host (here: the same server under another name).
                        ex.getResponseHeaders().add("Location", "http://localhost:" + server.getAddress().getPort()
                                + "/cdn/" + name + "?signature=xyz");
                        send(ex, 302, new byte[0]);
                    } else {
                        serve(ex, name);
                    }
                } else if (path.startsWith("/cdn/")) {
                    serve(ex, path.substring("/cdn/".length()));
                } else {
                    send(ex, 404, "not found".getBytes(StandardCharsets.UTF_8));
                }
            }
        }

        private void serve(HttpExchange ex, String name) throws IOException {
            byte[] b = files.get(name);
            if (b == null) {
                send(ex, 404, new byte[0]);
                return;
            }
            boolean weights = name.endsWith(".safetensors");
            if (weights && stallWeights) {
                ex.sendResponseHeaders(200, b.length);
                OutputStream out = ex.getResponseBody();
                out.write(b, 0, 10);
                out.flush();
                try {
                    Thread.sleep(20_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
            if (weights && truncateWeights) {
                byte[] half = java.util.Arrays.copyOf(b, b.length / 2);
                send(ex, 200, half);
                return;
            }
            send(ex, 200, b);
        }

        private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                ex.getResponseBody().write(body);
            }
        }

        String listing() {
            StringBuilder sb = new StringBuilder("{\"id\": \"owner/tiny\", \"sha\": \"" + COMMIT + "\", \"siblings\": [");
            boolean first = true;
            for (String extra : List.of(".gitattributes", "README.md", "pytorch_model.bin", "sub/model.safetensors")) {
                sb.append(first ? "" : ", ").append("{\"rfilename\": \"").append(extra).append("\", \"size\": 5}");
                first = false;
            }
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                sb.append(", {\"rfilename\": \"").append(e.getKey()).append("\", \"size\": ").append(e.getValue().length);
                if (e.getKey().endsWith(".safetensors")) {
                    String sha = listedSha.getOrDefault(e.getKey(), sha256(e.getValue()));
                    sb.append(", \"lfs\": {\"sha256\": \"").append(sha).append("\", \"size\": ")
                            .append(e.getValue().length).append(", \"pointerSize\": 134}");
                }
                sb.append('}');
            }
            return sb.append("]}").toString();
        }

        long hits(String pathPart) {
            return log.stream().filter(l -> l.contains(pathPart)).count();
        }

        @Override
        public void close() {
            server.stop(0);
            ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
        }
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    FakeHub hub;
    StringWriter progress;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        hub.files.put("config.json", HfConfigTest.SMOLLM2.getBytes(StandardCharsets.UTF_8));
        hub.files.put("tokenizer.json", HfTokenizerTest.GPT2.getBytes(StandardCharsets.UTF_8));
        byte[] weights = new byte[300_001];
        new Random(3).nextBytes(weights);
        hub.files.put("model-00001-of-00002.safetensors", weights);
        hub.files.put("model-00002-of-00002.safetensors", java.util.Arrays.copyOf(weights, 1234));
        hub.files.put("model.safetensors.index.json", "{\"weight_map\": {}}".getBytes(StandardCharsets.UTF_8));
        progress = new StringWriter();
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private HfHubDownloader downloader(String token) {
        return new HfHubDownloader(URI.create(hub.endpoint() + "/"), token, Duration.ofSeconds(2), Duration.ofSeconds(2),
                new PrintWriter(progress, true));
    }

    @Test
    void downloadsWhatJvqNeedsAndNothingElse() throws IOException {
        Path dir = downloader("secret-token").pull("owner/tiny", "main", cache);
        assertEquals(cache.resolve("owner").resolve("tiny"), dir);
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                    "model.safetensors.index.json", "tokenizer.json"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no README, no .bin, nothing from subfolders, no temporary files");
        }
        for (Map.Entry<String, byte[]> e : hub.files.entrySet()) {
            assertArrayEquals(e.getValue(), Files.readAllBytes(dir.resolve(e.getKey())), e.getKey());
        }
        assertEquals(576, HfConfig.read(dir).llama().dim());
        // The token goes to the hub's host only, not to the storage host it redirects to.
        for (String line : hub.log) {
            if (line.startsWith("127.0.0.1 ")) {
                assertTrue(line.endsWith(" Bearer secret-token"), line);
            } else {
                assertTrue(line.startsWith("localhost /cdn/") && line.endsWith(" null"), line);
            }
        }
        assertEquals(2, hub.hits("/cdn/"));
        assertTrue(progress.toString().contains("model-00001-of-00002.safetensors 0.3 MB (SHA-256 verified)"),
                progress.toString());
    }

    @Test
    void aSecondPullKeepsCompleteFiles() {
        downloader(null).pull("owner/tiny", "main", cache);
        long before = hub.log.size();
        downloader(null).pull("owner/tiny", "main", cache);
        assertEquals(before + 1, hub.log.size(), "only the listing is fetched again");
        assertTrue(hub.log.stream().noneMatch(l -> l.endsWith(" Bearer null")));
        assertTrue(progress.toString().contains("tokenizer.json already present"));
    }

    private String failure(Runnable r) {
        JvqException e = assertThrows(JvqException.class, r::run);
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private void assertNoPartialFiles() throws IOException {
        Path dir = cache.resolve("owner/tiny");
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")
                    || p.getFileName().toString().startsWith("model-00001")), "no partial weights");
        }
    }

    @Test
    void corruptOrTruncatedDownloadsAreRejected() throws IOException {
        hub.listedSha.put("model-00001-of-00002.safetensors", "00".repeat(32));
        assertTrue(failure(() -> downloader(null).pull("owner/tiny", "main", cache))
                .endsWith("SHA-256 differs from the listing's " + "00".repeat(32) + " (corrupt download)"));
        assertNoPartialFiles();
        hub.listedSha.clear();
        hub.truncateWeights = true;
        String msg = failure(() -> downloader(null).pull("owner/tiny", "main", cache));
        assertTrue(msg.contains("model-00001-of-00002.safetensors"), msg);
        assertNoPartialFiles();
    }

    @Test
    void aStalledTransferGivesUp() throws IOException {
        hub.stallWeights = true;
        long t0 = System.nanoTime();
        HfHubDownloader d = new HfHubDownloader(URI.create(hub.endpoint()), null, Duration.ofSeconds(2),
                Duration.ofMillis(500), new PrintWriter(progress, true));
        String msg = failure(() -> d.pull("owner/tiny", "main", cache));
        assertTrue(msg.contains("no data for 0.5 s"), msg);
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "gave up promptly");
        assertNoPartialFiles();
    }

    @Test
    void hubErrorsAreOneLine() {
        hub.listingStatus = 404;
        assertEquals("no repository 'owner/tiny' with revision 'main' (HTTP 404 from 127.0.0.1)",
                failure(() -> downloader(null).pull("owner/tiny", "main", cache)));
        hub.listingStatus = 401;
        assertTrue(failure(() -> downloader(null).pull("owner/tiny", "main", cache)).contains("set HF_TOKEN"));
        hub.listingStatus = 200;
        hub.files.keySet().removeIf(n -> n.endsWith(".safetensors"));
        assertEquals("repository 'owner/tiny' has no .safetensors weights (jvq does not read pytorch_model.bin)",
                failure(() -> downloader(null).pull("owner/tiny", "main", cache)));
        assertEquals("'../etc' is not a Hugging Face repository id (owner/name, letters, digits, '.', '_', '-')",
                failure(() -> downloader(null).pull("../etc", "main", cache)));
        failure(() -> downloader(null).pull("a/b/c", "main", cache));
        failure(() -> downloader(null).pull("", "main", cache));
    }

    @Test
    void refusedConnectionFailsAtOnce() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        HfHubDownloader d = new HfHubDownloader(URI.create("http://127.0.0.1:" + port), null, Duration.ofSeconds(2),
                Duration.ofSeconds(2), new PrintWriter(progress, true));
        String msg = failure(() -> d.pull("owner/tiny", "main", cache));
        assertTrue(msg.startsWith("cannot reach http://127.0.0.1:" + port + ": "), msg);
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
        assertFalse(Files.exists(cache.resolve("owner")), "nothing created before the listing arrived");
    }

    @Test
    void silentHostFailsWithinTheConnectTimeout() throws IOException {
        // A listener that never accepts, its backlog filled: further connection attempts go unanswered.
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            List<java.net.Socket> fill = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    java.net.Socket c = new java.net.Socket();
                    try {
                        c.connect(s.getLocalSocketAddress(), 200);
                        fill.add(c);
                    } catch (IOException full) {
                        c.close();
                        break;
                    }
                }
                long t0 = System.nanoTime();
                HfHubDownloader d = new HfHubDownloader(URI.create("http://127.0.0.1:" + s.getLocalPort()), null,
                        Duration.ofMillis(700), Duration.ofSeconds(2), new PrintWriter(progress, true));
                String msg = failure(() -> d.pull("owner/tiny", "main", cache));
                assertTrue(msg.startsWith("cannot reach http://127.0.0.1:" + s.getLocalPort() + ": no connection within 700 ms"), msg);
                assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "took " + (System.nanoTime() - t0) / 1e9 + " s");
            } finally {
                for (java.net.Socket c : fill) {
                    c.close();
                }
            }
        }
    }

    @Test
    void destinations() {
        assertEquals(cache.resolve("HuggingFaceTB/SmolLM2-135M"),
                HfHubDownloader.destination(cache, "HuggingFaceTB/SmolLM2-135M", "main"));
        assertEquals(cache.resolve("gpt2@v1.0"), HfHubDownloader.destination(cache, "gpt2", "v1.0"));
        assertEquals(cache.resolve("o/n@refs_pr_1"), HfHubDownloader.destination(cache, "o/n", "refs/pr/1"));
    }
}
