package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import dev.jvq.io.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Downloads the files jvq needs from a Hugging Face model repository: config.json, tokenizer.json,
 * tokenizer_config.json, the .safetensors weights and their index. The file list comes from
 * {@code GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true} (which also gives sizes
 * and, for LFS files, SHA-256 digests); files come from {@code {endpoint}/{repo}/resolve/{commit}/{file}},
 * pinned to the commit the listing named so that a branch moving mid-download cannot mix versions.
 *
 * <p>Each file is streamed to a temporary sibling, checked against the listed size and digest, and
 * renamed into place; files already present with the listed size are kept. An access token
 * (HF_TOKEN) is sent to the endpoint's own host only, not to the storage hosts it redirects to. A
 * short connect timeout and a stall watchdog make an unreachable or silent server fail with one
 * line instead of hanging.
 */
public final class HfHubDownloader {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?");
    private static final List<String> WANTED = List.of(HfConfig.FILE, HfTokenizer.FILE, HfTokenizer.CONFIG_FILE,
            SafetensorsCheckpoint.INDEX_FILE);
    private static final int MAX_REDIRECTS = 10;
    /** How long a server may take to answer a request (headers), once connected. */
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(60);

    private final URI endpoint;
    private final String token;
    private final Duration connectTimeout;
    private final Duration stallTimeout;
    private final PrintWriter progress;
    private final HttpClient http;

    /**
     * @param endpoint the hub's base URL (https://huggingface.co, or a mirror)
     * @param token an access token for private or gated repositories, or null
     * @param connectTimeout how long to wait for a connection before giving up
     * @param stallTimeout how long a response may go without sending a byte
     * @param progress where progress lines go (stderr in the CLI)
     */
    public HfHubDownloader(URI endpoint, String token, Duration connectTimeout, Duration stallTimeout,
            PrintWriter progress) {
        this.endpoint = URI.create(endpoint.toString().replaceAll("/+$", ""));
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.connectTimeout = connectTimeout;
        this.stallTimeout = stallTimeout;
        this.progress = progress;
        this.http = HttpClient.newBuilder().connectTimeout(connectTimeout).followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** One file of the repository listing. */
    record RemoteFile(String name, long size, String sha256) {}

    /** The directory a repository is stored in: {@code cache/owner/name}, with "@revision" unless main. */
    public static Path destination(Path cache, String repoId, String revision) {
        checkRepoId(repoId);
        String leaf = repoId.substring(repoId.lastIndexOf('/') + 1);
        if (!revision.equals("main")) {
            leaf += "@" + revision.replaceAll("[^A-Za-z0-9._-]", "_");
        }
        int slash = repoId.indexOf('/');
        return slash < 0 ? cache.resolve(leaf) : cache.resolve(repoId.substring(0, slash)).resolve(leaf);
    }

    static void checkRepoId(String repoId) {
        if (!REPO_ID.matcher(repoId).matches() || repoId.contains("..")) {
            throw new JvqException("'" + repoId + "' is not a Hugging Face repository id (owner/name, letters, digits,"
                    + " '.', '_', '-')");
        }
    }

    /** Downloads (or completes) {@code repoId} at {@code revision} into its cache directory; returns that directory. */
    public Path pull(String repoId, String revision, Path cache) {
        checkRepoId(repoId);
        if (revision == null || revision.isBlank()) {
            throw new JvqException("--revision must not be empty");
        }
        Path dest = destination(cache, repoId, revision);
        JsonNode listing = listing(repoId, revision);
        String commit = listing.path("sha").asText(revision);
        List<RemoteFile> files = select(repoId, listing);
        try {
            Files.createDirectories(dest);
        } catch (IOException e) {
            throw JvqException.badFile(dest, "cannot create directory: " + e.getMessage());
        }
        long total = files.stream().mapToLong(f -> Math.max(0, f.size())).sum();
        progress.printf(Locale.ROOT, "jvq pull: %s@%s (commit %s): %d files, %s%n", repoId, revision,
                commit.length() > 12 ? commit.substring(0, 12) : commit, files.size(), megabytes(total));
        for (RemoteFile f : files) {
            Path target = dest.resolve(f.name());
            if (f.size() >= 0 && Files.isRegularFile(target) && size(target) == f.size()) {
                progress.printf(Locale.ROOT, "jvq pull: %s already present%n", f.name());
                continue;
            }
            download(URI.create(endpoint + "/" + repoPath(repoId) + "/resolve/" + segment(commit) + "/"
                    + segment(f.name())), f, target);
        }
        progress.flush();
        return dest;
    }

    private JsonNode listing(String repoId, String revision) {
        URI uri = URI.create(endpoint + "/api/models/" + repoPath(repoId) + "/revision/" + segment(revision)
                + "?blobs=true");
        HttpResponse<Flow.Publisher<List<ByteBuffer>>> r = send(uri);
        if (r.statusCode() != 200) {
            discard(r);
            throw new JvqException(httpProblem(r.statusCode(), repoId, revision, uri));
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        receive(r, uri, b -> {
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            body.write(chunk, 0, chunk.length);
        });
        JsonNode root;
        try {
            root = HfJson.MAPPER.readTree(body.toByteArray());
        } catch (IOException e) {
            throw new JvqException(uri + ": the file list is not JSON: " + e.getMessage().replaceAll("\\s+", " "), e);
        }
        if (root == null || !root.path("siblings").isArray()) {
            throw new JvqException(uri + ": answer has no file list (\"siblings\"); is " + endpoint
                    + " a Hugging Face hub?");
        }
        return root;
    }

    private static String httpProblem(int status, String repoId, String revision, URI uri) {
        return switch (status) {
            case 401, 403 -> "repository '" + repoId + "' is private or gated (HTTP " + status + "): accept its licence"
                    + " on the hub and set HF_TOKEN to an access token";
            case 404 -> "no repository '" + repoId + "' with revision '" + revision + "' (HTTP 404 from " + uri.getHost()
                    + ")";
            default -> uri + ": HTTP " + status;
        };
    }

    /** The files jvq uses, in download order (small metadata first). */
    private List<RemoteFile> select(String repoId, JsonNode listing) {
        List<RemoteFile> meta = new ArrayList<>();
        List<RemoteFile> weights = new ArrayList<>();
        for (JsonNode s : listing.get("siblings")) {
            String name = s.path("rfilename").asText("");
            boolean topLevel = !name.contains("/") && !name.contains("\\") && !name.startsWith(".");
            boolean wanted = WANTED.contains(name) || name.endsWith(".safetensors");
            if (!topLevel || !wanted) {
                continue;
            }
            long size = s.path("lfs").path("size").asLong(s.path("size").asLong(-1));
            String sha = s.path("lfs").path("sha256").asText(null);
            RemoteFile f = new RemoteFile(name, size, sha);
            (name.endsWith(".safetensors") ? weights : meta).add(f);
        }
        if (meta.stream().noneMatch(f -> f.name().equals(HfConfig.FILE))) {
            throw new JvqException("repository '" + repoId + "' has no config.json: not a transformers model");
        }
        if (weights.isEmpty()) {
            throw new JvqException("repository '" + repoId + "' has no .safetensors weights (jvq does not read"
                    + " pytorch_model.bin)");
        }
        meta.addAll(weights);
        return meta;
    }

    private void download(URI uri, RemoteFile f, Path target) {
        HttpResponse<Flow.Publisher<List<ByteBuffer>>> r = send(uri);
        if (r.statusCode() != 200) {
            discard(r);
            throw new JvqException(uri + ": HTTP " + r.statusCode());
        }
        Path tmp = AtomicFiles.tempSibling(target);
        MessageDigest sha = sha256();
        long[] done = {0};
        long[] lastReport = {System.nanoTime()};
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            receive(r, uri, b -> {
                sha.update(b.duplicate());
                done[0] += b.remaining();
                try {
                    while (b.hasRemaining()) {
                        out.write(b);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                if (System.nanoTime() - lastReport[0] > 500_000_000L) {
                    progress.printf(Locale.ROOT, "jvq pull: %s %s / %s\r", f.name(), megabytes(done[0]),
                            megabytes(f.size()));
                    progress.flush();
                    lastReport[0] = System.nanoTime();
                }
            });
        } catch (IOException | UncheckedIOException e) {
            AtomicFiles.deleteQuietly(tmp);
            throw JvqException.badFile(tmp, "cannot write: " + e.getMessage());
        } catch (RuntimeException e) {
            AtomicFiles.deleteQuietly(tmp);
            throw e;
        }
        if (f.size() >= 0 && done[0] != f.size()) {
            AtomicFiles.deleteQuietly(tmp);
            throw new JvqException(uri + ": received " + done[0] + " bytes, the listing says " + f.size());
        }
        if (f.sha256() != null && !HexFormat.of().formatHex(sha.digest()).equalsIgnoreCase(f.sha256())) {
            AtomicFiles.deleteQuietly(tmp);
            throw new JvqException(uri + ": SHA-256 differs from the listing's " + f.sha256() + " (corrupt download)");
        }
        AtomicFiles.commit(tmp, target);
        progress.printf(Locale.ROOT, "jvq pull: %s %s%s%n", f.name(), megabytes(done[0]), f.sha256() != null
                ? " (SHA-256 verified)" : "");
    }

    /**
     * Feeds a response body to {@code sink} (on the client's threads, one buffer at a time) and waits
     * for its end, giving up with one line when no byte arrives for the stall timeout — a blocking
     * read would wait forever on a server that stops sending.
     */
    private void receive(HttpResponse<Flow.Publisher<List<ByteBuffer>>> r, URI uri, Consumer<ByteBuffer> sink) {
        CompletableFuture<Void> finished = new CompletableFuture<>();
        AtomicLong lastByteAt = new AtomicLong(System.nanoTime());
        AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();
        r.body().subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                subscription.set(s);
                s.request(1);
            }

            @Override
            public void onNext(List<ByteBuffer> buffers) {
                lastByteAt.set(System.nanoTime());
                try {
                    buffers.forEach(sink);
                } catch (RuntimeException e) {
                    subscription.get().cancel();
                    finished.completeExceptionally(e);
                    return;
                }
                subscription.get().request(1);
            }

            @Override
            public void onError(Throwable t) {
                finished.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                finished.complete(null);
            }
        });
        while (true) {
            try {
                finished.get(200, TimeUnit.MILLISECONDS);
                return;
            } catch (TimeoutException e) {
                if (System.nanoTime() - lastByteAt.get() > stallTimeout.toNanos()) {
                    Flow.Subscription s = subscription.get();
                    if (s != null) {
                        s.cancel();
                    }
                    throw new JvqException(uri + ": no data for " + stallTimeout.toMillis() / 1000.0
                            + " s; gave up (connection stalled)");
                }
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re && !(c instanceof UncheckedIOException)) {
                    throw re;
                }
                throw new JvqException(uri + ": transfer failed: " + (c instanceof UncheckedIOException u
                        ? u.getCause().getMessage() : String.valueOf(c.getMessage())), c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new JvqException(uri + ": interrupted", e);
            }
        }
    }

    /** Drops a body we do not read, releasing the connection. */
    private static void discard(HttpResponse<Flow.Publisher<List<ByteBuffer>>> r) {
        r.body().subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.cancel();
            }

            @Override
            public void onNext(List<ByteBuffer> item) {}

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onComplete() {}
        });
    }

    /** GET with manual redirects: the token goes only to the endpoint's host. */
    private HttpResponse<Flow.Publisher<List<ByteBuffer>>> send(URI uri) {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(current).timeout(ANSWER_TIMEOUT).GET()
                    .header("User-Agent", "jvq");
            if (token != null && sameHost(current, endpoint)) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<Flow.Publisher<List<ByteBuffer>>> r;
            try {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofPublisher());
            } catch (HttpConnectTimeoutException e) {
                throw unreachable(current, "no connection within " + connectTimeout.toMillis() + " ms", e);
            } catch (HttpTimeoutException e) {
                throw unreachable(current, "no answer within " + ANSWER_TIMEOUT.toSeconds() + " s", e);
            } catch (ConnectException e) {
                throw unreachable(current, "connection failed" + (e.getMessage() == null ? "" : " (" + e.getMessage()
                        + ")"), e);
            } catch (IOException e) {
                throw unreachable(current, e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : ": " + e.getMessage()), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new JvqException(current + ": interrupted", e);
            }
            int s = r.statusCode();
            if (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) {
                discard(r);
                String location = r.headers().firstValue("Location").orElseThrow(
                        () -> new JvqException(uri + ": redirect (HTTP " + s + ") without a Location"));
                current = current.resolve(location);
                continue;
            }
            return r;
        }
        throw new JvqException(uri + ": more than " + MAX_REDIRECTS + " redirects");
    }

    private JvqException unreachable(URI uri, String why, Exception cause) {
        return new JvqException("cannot reach " + uri.getScheme() + "://" + uri.getAuthority() + ": " + why
                + " (no network, or a proxy/firewall in the way?)", cause);
    }

    private static boolean sameHost(URI a, URI b) {
        return a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    /** Each path segment URL-encoded (a revision such as refs/pr/1 is one segment, its slashes encoded). */
    private static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String repoPath(String repoId) {
        int slash = repoId.indexOf('/');
        return slash < 0 ? segment(repoId) : segment(repoId.substring(0, slash)) + "/" + segment(repoId.substring(slash + 1));
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    static String megabytes(long bytes) {
        return bytes < 0 ? "? MB" : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
