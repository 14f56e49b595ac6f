package dev.jvq.cli;

import dev.jvq.JvqException;
import dev.jvq.model.HfHubDownloader;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code jvq pull}: downloads a Hugging Face model repository into the local cache. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Downloads a Hugging Face model (config.json, tokenizer files, *.safetensors and their index)"
                + " into CACHE/OWNER/NAME, printing that directory on stdout.",
            "Files already there with the right size are kept; downloads go to temporary files, are checked against"
                    + " the hub's sizes and SHA-256 digests, and renamed into place.",
            "HF_TOKEN (an access token) is sent for private or gated repositories; HF_ENDPOINT selects a mirror."})
public final class PullCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REPO_ID", description = "Repository, e.g. HuggingFaceTB/SmolLM2-135M.")
    String repoId;

    @Option(names = "--revision", defaultValue = "main", paramLabel = "R",
            description = "Branch, tag or commit (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--cache", paramLabel = "DIR", description = "Cache root (default: ~/.cache/jvq).")
    Path cache;

    @Option(names = "--endpoint", paramLabel = "URL",
            description = "Hub URL (default: $HF_ENDPOINT, else " + HfHubDownloader.DEFAULT_ENDPOINT + ").")
    String endpoint;

    @Option(names = "--connect-timeout", defaultValue = "10", paramLabel = "S",
            description = "Seconds to wait for a connection (default: ${DEFAULT-VALUE}).")
    double connectTimeout;

    @Option(names = "--stall-timeout", defaultValue = "60", paramLabel = "S",
            description = "Seconds a download may receive nothing before it is abandoned (default: ${DEFAULT-VALUE}).")
    double stallTimeout;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (!(connectTimeout > 0) || !(stallTimeout > 0)) {
            throw new JvqException("--connect-timeout and --stall-timeout must be positive");
        }
        String url = endpoint != null ? endpoint : System.getenv().getOrDefault("HF_ENDPOINT",
                HfHubDownloader.DEFAULT_ENDPOINT);
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new JvqException("--endpoint " + url + ": not a URL");
        }
        if (uri.getHost() == null || !(uri.getScheme().equals("https") || uri.getScheme().equals("http"))) {
            throw new JvqException("--endpoint " + url + ": not an http(s) URL");
        }
        Path root = cache != null ? cache : Path.of(System.getProperty("user.home"), ".cache", "jvq");
        HfHubDownloader d = new HfHubDownloader(uri, System.getenv("HF_TOKEN"), seconds(connectTimeout),
                seconds(stallTimeout), spec.commandLine().getErr());
        Path dir = d.pull(repoId, revision, root);
        spec.commandLine().getOut().println(dir);
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static Duration seconds(double s) {
        return Duration.ofMillis(Math.max(1, Math.round(s * 1000)));
    }
}
