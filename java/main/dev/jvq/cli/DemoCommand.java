package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.calib.CalibrationSet;
import dev.jvq.calib.HessianCalibration;
import dev.jvq.model.LlamaModel;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.Tokenizer;
import dev.jvq.pipeline.CompressedModel;
import dev.jvq.pipeline.QuantizeJob;
import dev.jvq.pipeline.StoredTokenizer;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.QuantMethod;
import dev.jvq.report.ParetoPlot;
import dev.jvq.report.ResultRow;
import dev.jvq.report.ResultsTable;
import dev.jvq.runtime.Perplexity;
import dev.jvq.runtime.TextFile;
import dev.jvq.runtime.Transformer;
import dev.jvq.train.FisherStatistics;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jvq demo}, the main job: quantise one model with every method, evaluate each compressed
 * file, and print the paper's Table 1 with a PPL-versus-bits Pareto plot.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Quantise a model with FP (none), RTN, HAS-VQ and RSAVQ, evaluate each .jvq, and print the"
                + " paper's Table 1 (also written as Markdown) with a PPL-versus-BPP Pareto plot (PNG).",
            "Without --model it uses the fixture model stories260K in ../shared/fixtures with the fixture protocol:"
                    + " calibration on BOS windows 0..63 (256 tokens) of tinystories_val_head.txt, evaluation with"
                    + " --bos --seq-len 256 on the windows after them."})
public final class DemoCommand implements Callable<Integer> {
    /**
     * The default line-up: the paper's rows plus the point that suits a 64-wide model (ALGORITHMS.md 7),
     * the RSAVQ presets and the RSAVQ variant measured best on the fixture (bench/RESULTS.md).
     */
    static final List<String> DEFAULT_METHODS = List.of("fp", "rtn4-row", "rtn4-g32", "rtn3-g32",
            "hasvq-mid@model", "hasvq-high@model", "hasvq-mid:b=2,k=256,rho=0@model", "rsavq-2@model", "rsavq-3@model",
            "rsavq-4@model", "rsavq-3:allocation=waterfill,sensitivity=fisher@model");

    @Option(names = "--model", paramLabel = "FILE", description = "Model checkpoint (default: the fixture model).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer (default: next to the model).")
    Path tokenizer;

    @Option(names = "--text", paramLabel = "FILE",
            description = "Evaluation text (default: the fixture's tinystories_val_head.txt).")
    Path text;

    @Option(names = "--calib-text", paramLabel = "FILE", description = "Calibration text (default: --text).")
    Path calibText;

    @Option(names = "--seq-len", defaultValue = "256", paramLabel = "W",
            description = "Window length for calibration and evaluation (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--calib-windows", defaultValue = "64", paramLabel = "N",
            description = "BOS windows of the calibration text used for calibration; evaluation skips as many"
                    + " windows when both texts are the same file (default: ${DEFAULT-VALUE}).")
    int calibWindows;

    @Option(names = "--max-windows", defaultValue = "256", paramLabel = "N",
            description = "Evaluate at most N windows per method (default: ${DEFAULT-VALUE}, a quick look;"
                    + " 0 = the whole text, as bench/RESULTS.md reports).")
    int maxWindows;

    // Commas also separate HAS-VQ overrides (hasvq-mid:b=2,k=256): split only where no "key=" follows.
    @Option(names = "--methods", split = ",(?![a-z]+=)", paramLabel = "M[@scope]",
            description = "Methods to run, 'fp' for the unquantised model; '@kind' or '@model' picks the HAS-VQ"
                    + " codebook scope (default: fp,rtn4-row,rtn4-g32,rtn3-g32,hasvq-mid@model,hasvq-high@model,"
                    + "hasvq-mid:b=2,k=256,rho=0@model).")
    List<String> methods;

    @Option(names = "--out-dir", defaultValue = "demo-out", paramLabel = "DIR",
            description = "Where the .jvq files, results.md and pareto.png go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Option(names = "--json", description = "Print the rows as one JSON object on stdout.")
    boolean json;

    @Mixin
    BackendOptions backendOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The fixture directory: ../shared/fixtures beside the working directory or beside the jar's checkout. */
    static Path findFixtures() {
        List<Path> candidates = new ArrayList<>();
        String prop = System.getProperty("jvq.fixtures");
        if (prop != null) {
            candidates.add(Path.of(prop));
        }
        candidates.add(Path.of("..", "shared", "fixtures"));
        try {
            Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path repo = jar.getParent() == null ? null : jar.getParent().getParent();
            if (repo != null && repo.getParent() != null) {
                candidates.add(repo.getParent().resolve("shared").resolve("fixtures"));
            }
        } catch (Exception ignored) {
            // not run from a file: only the other candidates
        }
        for (Path p : candidates) {
            if (Files.isRegularFile(p.resolve("stories260K.bin"))) {
                return p.normalize();
            }
        }
        return null;
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (model == null) {
            Path fx = findFixtures();
            if (fx == null) {
                throw new JvqException("no model: pass --model FILE (and --text), or get one with"
                        + " 'jvq pull HuggingFaceTB/SmolLM2-135M'");
            }
            model = fx.resolve("stories260K.bin");
            tokenizer = tokenizer != null ? tokenizer : fx.resolve("tok512.bin");
            text = text != null ? text : fx.resolve("tinystories_val_head.txt");
            err.println("demo: using the fixture model " + model);
        }
        if (text == null) {
            throw new JvqException("--text FILE is required with --model");
        }
        Path calib = calibText != null ? calibText : text;
        boolean sameText = calib.toAbsolutePath().normalize().equals(text.toAbsolutePath().normalize());
        List<String> lineUp = methods == null || methods.isEmpty() ? DEFAULT_METHODS : methods;
        List<Spec> specs = new ArrayList<>();
        for (String m : lineUp) {
            specs.add(Spec.parse(m));
        }
        Files.createDirectories(outDir);
        StoredTokenizer tokBytes = StoredTokenizer.capture(tokenizer, model);
        List<ResultRow> rows = new ArrayList<>();
        try (Backend backend = backendOptions.open()) {
            Tokenizer tok;
            int[] evalTokens;
            CalibrationSet calibSet;
            HessianCalibration hessian = null;
            Map<Double, FisherStatistics> fisher = new HashMap<>();
            ModelFiles.Opened opened = ModelFiles.openWithTokenizer(model, tokenizer);
            try (LlamaModel fp = opened.model()) {
                tok = opened.tokenizer();
                if (seqLen > fp.config().maxSeqLen()) {
                    throw new JvqException("--seq-len " + seqLen + " exceeds the context of " + model);
                }
                evalTokens = tok.encode(TextFile.readUtf8(text));
                calibSet = CalibrationSet.bosWindows(calib, tok, calibWindows, seqLen);
                if (specs.stream().anyMatch(s -> QuantizeJob.needsHessian(s.method))) {
                    hessian = QuantizeJob.calibrate(fp, backend, calibSet, false, line -> log(err, line));
                }
                for (Spec s : specs) {
                    if (s.method instanceof QuantMethod.Rsavq rq && QuantizeJob.needsFisher(rq)
                            && !fisher.containsKey(rq.params().damping())) {
                        fisher.put(rq.params().damping(), QuantizeJob.collectFisher(fp, backend, calibSet,
                                rq.params().damping(), line -> log(err, line)));
                    }
                }
                Perplexity.Options opts = new Perplexity.Options(seqLen, true, sameText ? calibWindows : 0, maxWindows);
                for (Spec s : specs) {
                    rows.add(s.method == null ? evalFp(fp, tok, evalTokens, opts, backend, err)
                            : quantizeAndEval(s, tokBytes, hessian, fisherFor(s, fisher), evalTokens, opts, backend,
                                    err));
                    log(err, "demo: " + rows.getLast().method() + " " + rows.getLast().configuration() + ": PPL "
                            + String.format(Locale.ROOT, "%.4f at %.3f bits", rows.getLast().ppl(),
                                    rows.getLast().paperBpp()));
                }
            } finally {
                if (hessian != null) {
                    hessian.close();
                }
            }
        }
        String title = "jvq demo: " + model.getFileName() + ", " + text.getFileName() + " (BOS windows of " + seqLen
                + ")";
        Path md = outDir.resolve("results.md");
        Path png = outDir.resolve("pareto.png");
        ResultsTable.writeMarkdown(md, title, rows);
        ParetoPlot.write(png, title, rows);
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.set("rows", mapper.valueToTree(rows));
            o.put("markdown", md.toString());
            o.put("plot", png.toString());
            out.println(mapper.writeValueAsString(o));
        } else {
            out.print(ResultsTable.text(rows));
            out.println("wrote " + md + " and " + png);
        }
        out.flush();
        return 0;
    }

    /** One entry of --methods: a method (null = fp) and a codebook scope. */
    record Spec(String label, QuantMethod method, CodebookScope scope) {
        static Spec parse(String s) {
            String t = s.strip();
            int at = t.lastIndexOf('@');
            CodebookScope scope = at < 0 ? CodebookScope.MATRIX : CodebookScope.parse(t.substring(at + 1));
            String m = at < 0 ? t : t.substring(0, at);
            if (m.equalsIgnoreCase("fp")) {
                return new Spec("fp", null, scope);
            }
            return new Spec(t, QuantMethod.parse(m), scope);
        }
    }

    private ResultRow evalFp(LlamaModel fp, Tokenizer tok, int[] ids, Perplexity.Options opts, Backend backend,
            PrintWriter err) {
        double ppl = perplexity(fp, tok, ids, opts, backend, err, "fp");
        // The source checkpoint's precision, for every count (it stores every weight so).
        double bits = fp.embedding().dtype().bytes * 8;
        String dtype = fp.embedding().dtype().name().toLowerCase(Locale.ROOT);
        return new ResultRow("fp", dtype + " weights (unquantised)", ppl, bits, bits, bits);
    }

    private static FisherStatistics fisherFor(Spec s, Map<Double, FisherStatistics> fisher) {
        return s.method instanceof QuantMethod.Rsavq rq ? fisher.get(rq.params().damping()) : null;
    }

    private ResultRow quantizeAndEval(Spec s, StoredTokenizer tokBytes, HessianCalibration hessian,
            FisherStatistics fisher, int[] ids, Perplexity.Options opts, Backend backend, PrintWriter err) {
        String fileName = s.label.replaceAll("[^A-Za-z0-9._-]+", "_") + ".jvq";
        Path file = outDir.resolve(fileName);
        QuantizeJob.Result r;
        try (LlamaModel m = ModelFiles.openModel(model); Arena arena = Arena.ofShared()) {
            ObjectNode meta = new ObjectMapper().createObjectNode();
            meta.put("calibration", "BOS windows 0.." + (calibWindows - 1) + " of " + text.getFileName());
            r = QuantizeJob.run(m, tokBytes, s.method, s.scope, hessian, fisher, meta, file, backend, arena,
                    line -> log(err, line));
        }
        CompressedModel.Loaded loaded = CompressedModel.load(file);
        try (LlamaModel q = loaded.model()) {
            double ppl = perplexity(q, loaded.tokenizer(), ids, opts, backend, err, s.label);
            return new ResultRow(s.method.name(), configuration(s), ppl, r.bits().paperBpp(), r.bits().blockBpp(),
                    r.bits().fileBpp());
        }
    }

    /** The knobs that matter, in the notation of ALGORITHMS.md. */
    static String configuration(Spec s) {
        return switch (s.method) {
            case QuantMethod.HasVq hv -> String.format(Locale.ROOT, "b=%d K=%d ρ=%s codebook/%s",
                    hv.params().block(), hv.params().centroids(), hv.params().sparsity(), s.scope.label());
            case QuantMethod.Rsavq rq -> String.format(Locale.ROOT, "%d bits, v=%d (%d×%d), %d groups%s%s, λ=%s,"
                    + " codebook/%s", rq.params().bits(), rq.params().vectorLength(), rq.params().subspaces(),
                    rq.params().subLength(), rq.params().groups(),
                    rq.params().wcsg() ? " WCSG " + rq.params().allocation().id() : "",
                    rq.params().edsg() ? " EDSG" : " k-means", rq.params().lambda(), s.scope.label());
            case QuantMethod.Rtn rtn -> String.format(Locale.ROOT, "%d-bit %s, %s", rtn.params().bits(),
                    rtn.params().symmetric() ? "symmetric" : "asymmetric",
                    rtn.params().group() == 0 ? "per row" : "groups of " + rtn.params().group());
        };
    }

    private double perplexity(LlamaModel m, Tokenizer tok, int[] ids, Perplexity.Options opts, Backend backend,
            PrintWriter err, String label) {
        try (Transformer t = new Transformer(m, backend, seqLen, seqLen)) {
            long[] last = {System.nanoTime()};
            Perplexity.Result r = Perplexity.evaluate(t, ids, opts, tok.bosId(), (done, total, tokens, sec) -> {
                long now = System.nanoTime();
                if (now - last[0] > 5_000_000_000L || done == total) {
                    last[0] = now;
                    log(err, String.format(Locale.ROOT, "eval %s: %d/%d windows, %.0f tokens/s, ETA %.0f s", label,
                            done, total, tokens / sec, sec / done * (total - done)));
                }
            });
            return r.ppl();
        }
    }

    private static void log(PrintWriter err, String line) {
        err.println(line);
        err.flush();
    }
}
