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
import dev.jvq.pipeline.QuantizeJob;
import dev.jvq.rsavq.AllocationRule;
import dev.jvq.rsavq.RsavqParams;
import dev.jvq.train.FisherStatistics;
import dev.jvq.pipeline.StoredTokenizer;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.HasVqParams;
import dev.jvq.quant.QuantMethod;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jvq quantize}: calibrate, quantise every block linear, write a .jvq file. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantise a model's block linears (q, k, v, o, gate, up, down) and write a .jvq file.",
            "Embeddings, norms and the output head stay in their source precision.",
            "HAS-VQ reads the Hessian diagonal of each layer's input from forward passes over --calib"
                    + " (paper protocol: first 1000 lines of WikiText-2 raw train, 128 sequences of 1024 tokens).",
            "RSAVQ back-propagates the same calibration sequences for its Fisher statistics."})
public final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "Model checkpoint (llama2.c .bin).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer (default: tokenizer.bin next to the model).")
    Path tokenizer;

    @Option(names = "--method", required = true, paramLabel = "METHOD",
            description = "hasvq-mid, hasvq-high (optionally :b=B,k=K,rho=R,...), rsavq-2, rsavq-3, rsavq-4"
                    + " (optionally :groups=G,v=V,lambda=L,...), rtn4-row, rtnN-gG (symmetric) or rtnN-gG-asym"
                    + " (N = 2..8).")
    String method;

    @Option(names = "--no-edsg", description = "RSAVQ ablation: plain k-means codebooks (no Fisher-weighted,"
            + " natural-gradient-shifted updates).")
    boolean noEdsg;

    @Option(names = "--no-wcsg", description = "RSAVQ ablation: no sensitivity ordering; every channel group at the"
            + " target bits.")
    boolean noWcsg;

    @Option(names = "--groups", paramLabel = "G", description = "RSAVQ channel groups, each with its own codebook"
            + " (paper 4).")
    Integer groups;

    @Option(names = "--vector-length", paramLabel = "V", description = "RSAVQ PQ vector length along the output"
            + " dimension (paper 6).")
    Integer vectorLength;

    @Option(names = "--subvectors", paramLabel = "S", description = "RSAVQ PQ sub-vectors per vector (paper 2).")
    Integer subvectors;

    @Option(names = "--lambda", paramLabel = "L", description = "RSAVQ EDSG step along the natural gradient"
            + " (default 0.05).")
    Double lambda;

    @Option(names = "--allocation", paramLabel = "paper|waterfill", description = "RSAVQ WCSG bit rule: the"
            + " paper's proportional rule (default) or reverse water-filling.")
    String allocation;

    @Option(names = "--edsg-iters", paramLabel = "T", description = "RSAVQ EDSG iterations (default 10).")
    Integer edsgIters;

    @Option(names = "--block", paramLabel = "B", description = "HAS-VQ vector length b (preset default).")
    Integer block;

    @Option(names = "--centroids", paramLabel = "K", description = "HAS-VQ codebook size K (preset default).")
    Integer centroids;

    @Option(names = "--sparsity", paramLabel = "RHO", description = "HAS-VQ outlier fraction ρ in [0, 0.5).")
    Double sparsity;

    @Option(names = "--stability", paramLabel = "S", description = "k-means sample = min(M, K·S) vectors (paper 200).")
    Integer stability;

    @Option(names = "--kmeans-iters", paramLabel = "N", description = "k-means passes (paper 15).")
    Integer iters;

    @Option(names = "--seed", paramLabel = "N", description = "Random seed for sampling and initialisation.")
    Long seed;

    @Option(names = "--codebook-scope", defaultValue = "matrix", paramLabel = "matrix|kind|model",
            description = "One codebook per matrix (paper), per projection kind across layers, or per model"
                    + " (default: ${DEFAULT-VALUE}).")
    String scope;

    @Mixin
    CalibrationOptions calibration;

    @Option(names = "--out", required = true, paramLabel = "FILE.jvq", description = "Output file.")
    Path out;

    @Option(names = "--json", description = "Print the result as one JSON object on stdout.")
    boolean json;

    @Mixin
    BackendOptions backendOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The method with the command-line overrides applied. */
    QuantMethod resolveMethod() {
        QuantMethod m = QuantMethod.parse(method);
        boolean overrides = block != null || centroids != null || sparsity != null || stability != null
                || iters != null || seed != null;
        if (m instanceof QuantMethod.HasVq hv) {
            if (rsavqOverrides(this)) {
                throw new JvqException("--no-edsg/--no-wcsg/--groups/--vector-length/--subvectors/--lambda/"
                        + "--allocation/--edsg-iters apply to RSAVQ, not to " + m.name());
            }
            HasVqParams p = hv.params();
            return new QuantMethod.HasVq(new HasVqParams(block != null ? block : p.block(),
                    centroids != null ? centroids : p.centroids(), sparsity != null ? sparsity : p.sparsity(),
                    stability != null ? stability : p.stability(), iters != null ? iters : p.iters(),
                    seed != null ? seed : p.seed()));
        }
        if (m instanceof QuantMethod.Rsavq rq) {
            if (block != null || centroids != null || sparsity != null) {
                throw new JvqException("--block/--centroids/--sparsity apply to HAS-VQ, not to " + m.name());
            }
            RsavqParams p = rq.params();
            return new QuantMethod.Rsavq(new RsavqParams(p.bits(), groups != null ? groups : p.groups(),
                    vectorLength != null ? vectorLength : p.vectorLength(),
                    subvectors != null ? subvectors : p.subspaces(), lambda != null ? lambda : p.lambda(),
                    edsgIters != null ? edsgIters : p.edsgIters(), iters != null ? iters : p.kmeansIters(),
                    stability != null ? stability : p.stability(), p.edsg() && !noEdsg, p.wcsg() && !noWcsg,
                    allocation != null ? AllocationRule.parse(allocation) : p.allocation(), p.sensitivity(), p.rowScale(),
                    p.rescaleNaturalGradient(), p.damping(), seed != null ? seed : p.seed()));
        }
        if (overrides || rsavqOverrides(this)) {
            throw new JvqException("--block/--centroids/--sparsity/--stability/--kmeans-iters/--seed apply to HAS-VQ"
                    + " and RSAVQ, --no-edsg/--no-wcsg/--groups/--vector-length/--subvectors/--lambda/--allocation/"
                    + "--edsg-iters to RSAVQ; not to " + m.name());
        }
        return m;
    }

    private static boolean rsavqOverrides(QuantizeCommand c) {
        return c.noEdsg || c.noWcsg || c.groups != null || c.vectorLength != null || c.subvectors != null
                || c.lambda != null || c.allocation != null || c.edsgIters != null;
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        QuantMethod m = resolveMethod();
        CodebookScope sc = CodebookScope.parse(scope);
        Path dir = this.out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new JvqException(this.out + ": output directory " + dir + " does not exist");
        }
        ModelFiles.Opened opened = ModelFiles.openWithTokenizer(model, tokenizer);
        try (LlamaModel lm = opened.model(); Arena arena = Arena.ofShared();
                Backend backend = backendOptions.open()) {
            Tokenizer tok = opened.tokenizer();
            StoredTokenizer tokBytes = StoredTokenizer.capture(tokenizer, model);
            err.printf(Locale.ROOT, "quantize: %s with %s on %s (%s)%n", model, m.name(), backend.name(),
                    backend.describe());
            err.flush();
            HessianCalibration h = null;
            FisherStatistics fisher = null;
            ObjectNode meta = new ObjectMapper().createObjectNode();
            if (QuantizeJob.needsCalibration(m)) {
                CalibrationSet calib = calibration.load(tok, lm.config().maxSeqLen());
                meta.set("calibration", calibration.describe(calib));
                if (QuantizeJob.needsHessian(m)) {
                    h = QuantizeJob.calibrate(lm, backend, calib, calibration.ema, line -> log(err, line));
                }
                if (m instanceof QuantMethod.Rsavq rq && QuantizeJob.needsFisher(m)) {
                    fisher = QuantizeJob.collectFisher(lm, backend, calib, rq.params().damping(),
                            line -> log(err, line));
                }
            }
            QuantizeJob.Result r;
            try {
                r = QuantizeJob.run(lm, tokBytes, m, sc, h, fisher, meta, this.out, backend, arena,
                        line -> log(err, line));
            } finally {
                if (h != null) {
                    h.close();
                }
            }
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                o.put("out", r.out().toString());
                o.put("method", m.name());
                o.put("codebook_scope", sc.label());
                o.put("file_bytes", r.fileBytes());
                o.put("paper_bpp", r.bits().paperBpp());
                o.put("block_bpp", r.bits().blockBpp());
                o.put("file_bpp", r.bits().fileBpp());
                o.put("quantize_seconds", r.quantizeSeconds());
                o.set("warnings", mapper.valueToTree(r.warnings()));
                out.println(mapper.writeValueAsString(o));
            } else {
                out.printf(Locale.ROOT, "wrote %s: %d bytes; paper BPP %.3f, block-linear BPP %.3f, file BPP %.3f;"
                        + " quantised in %.1f s%n", r.out(), r.fileBytes(), r.bits().paperBpp(), r.bits().blockBpp(),
                        r.bits().fileBpp(), r.quantizeSeconds());
            }
            out.flush();
        }
        return 0;
    }

    private static void log(PrintWriter err, String line) {
        err.println(line);
        err.flush();
    }
}
