package dev.jvq.quant;

import dev.jvq.JvqException;
import dev.jvq.rsavq.RsavqMethod;
import dev.jvq.rsavq.RsavqParams;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A quantisation method named on the command line:
 * <ul>
 *   <li>{@code hasvq-mid}, {@code hasvq-high}: the paper's presets, optionally followed by overrides
 *       {@code :b=2,k=256,rho=0,stability=200,iters=15,seed=7};
 *   <li>{@code rsavq-2}, {@code rsavq-3}, {@code rsavq-4}: RSAVQ at 2, 3, 4 bits, optionally with
 *       overrides {@code :groups=4,v=6,sub=2,lambda=0.05,edsg=off,wcsg=off,allocation=waterfill,...};
 *   <li>{@code rtn4-row}: the paper's symmetric per-row INT4 (also {@code rtnN-row} for N = 2..8);
 *   <li>{@code rtnN-gG}: symmetric N-bit with groups of G along d_in ({@code -asym} for a scale and a
 *       minimum per group).
 * </ul>
 */
public sealed interface QuantMethod {

    /** Canonical name, parseable by {@link #parse}. */
    String name();

    record HasVq(HasVqParams params) implements QuantMethod {
        @Override
        public String name() {
            HasVqParams p = params;
            String base = sameKnobs(p, HasVqParams.HIGH) ? "hasvq-high" : "hasvq-mid";
            HasVqParams ref = base.equals("hasvq-high") ? HasVqParams.HIGH : HasVqParams.MID;
            StringBuilder sb = new StringBuilder(base);
            String sep = ":";
            if (p.block() != ref.block()) {
                sb.append(sep).append("b=").append(p.block());
                sep = ",";
            }
            if (p.centroids() != ref.centroids()) {
                sb.append(sep).append("k=").append(p.centroids());
                sep = ",";
            }
            if (p.sparsity() != ref.sparsity()) {
                sb.append(sep).append("rho=").append(p.sparsity());
                sep = ",";
            }
            if (p.stability() != ref.stability()) {
                sb.append(sep).append("stability=").append(p.stability());
                sep = ",";
            }
            if (p.iters() != ref.iters()) {
                sb.append(sep).append("iters=").append(p.iters());
                sep = ",";
            }
            if (p.seed() != ref.seed()) {
                sb.append(sep).append("seed=").append(p.seed());
            }
            return sb.toString();
        }

        private static boolean sameKnobs(HasVqParams a, HasVqParams b) {
            return a.block() == b.block() && a.centroids() == b.centroids() && a.sparsity() == b.sparsity();
        }
    }

    record Rtn(RtnParams params) implements QuantMethod {
        @Override
        public String name() {
            return params.methodName();
        }
    }

    /** RSAVQ (docs RSAVQ.md); see {@link RsavqMethod} for the spelling. */
    record Rsavq(RsavqParams params) implements QuantMethod {
        @Override
        public String name() {
            return RsavqMethod.name(params);
        }
    }

    String EXPECTED = "expected hasvq-mid, hasvq-high (optionally ':b=B,k=K,rho=R,stability=S,iters=I,seed=N'),"
            + " rsavq-2, rsavq-3, rsavq-4 (optionally ':" + RsavqMethod.KEYS + "'),"
            + " rtn4-row, rtnN-row, rtnN-gG or rtnN-gG-asym (N = 2..8, G >= 1)";

    Pattern RTN = Pattern.compile("rtn(\\d+)-(?:(row)|g(\\d+))(?:-(sym|asym))?");

    static QuantMethod parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        Matcher m = RTN.matcher(s);
        if (m.matches()) {
            int bits = MethodText.integer(text, "bits", m.group(1));
            boolean row = m.group(2) != null;
            int group = row ? 0 : MethodText.integer(text, "group size", m.group(3));
            if (!row && group < 1) {
                throw new JvqException("method '" + text + "': group size G must be at least 1, got " + group);
            }
            // Symmetric by default (scale only, as the orientation table of ALGORITHMS.md section 7 counts it).
            boolean symmetric = m.group(4) == null || m.group(4).equals("sym");
            try {
                return new Rtn(new RtnParams(bits, group, symmetric));
            } catch (JvqException e) {
                throw new JvqException("method '" + text + "': " + e.getMessage());
            }
        }
        if (s.startsWith("rsavq")) {
            return new Rsavq(RsavqMethod.parse(text, s));
        }
        int colon = s.indexOf(':');
        String preset = colon < 0 ? s : s.substring(0, colon);
        HasVqParams p = switch (preset) {
            case "hasvq-mid" -> HasVqParams.MID;
            case "hasvq-high" -> HasVqParams.HIGH;
            default -> throw new JvqException("unknown quantisation method '" + text + "': " + EXPECTED);
        };
        if (colon < 0) {
            return new HasVq(p);
        }
        int block = p.block();
        int k = p.centroids();
        double rho = p.sparsity();
        int stability = p.stability();
        int iters = p.iters();
        long seed = p.seed();
        for (String kv : s.substring(colon + 1).split(",")) {
            int eq = kv.indexOf('=');
            if (eq < 1) {
                throw new JvqException("method '" + text + "': expected key=value, got '" + kv + "'");
            }
            String key = kv.substring(0, eq).trim();
            String val = kv.substring(eq + 1).trim();
            switch (key) {
                case "b", "block" -> block = MethodText.integer(text, key, val);
                case "k", "centroids" -> k = MethodText.integer(text, key, val);
                case "rho", "sparsity" -> rho = MethodText.number(text, key, val);
                case "stability" -> stability = MethodText.integer(text, key, val);
                case "iters" -> iters = MethodText.integer(text, key, val);
                case "seed" -> seed = MethodText.longInteger(text, key, val);
                default -> throw new JvqException("method '" + text + "': unknown HAS-VQ parameter '" + key
                        + "' (known: b, k, rho, stability, iters, seed)");
            }
        }
        try {
            return new HasVq(new HasVqParams(block, k, rho, stability, iters, seed));
        } catch (JvqException e) {
            throw new JvqException("method '" + text + "': " + e.getMessage());
        }
    }
}
