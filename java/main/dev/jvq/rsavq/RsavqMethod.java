package dev.jvq.rsavq;

import dev.jvq.JvqException;
import dev.jvq.quant.MethodText;
import java.util.Locale;

/**
 * How an RSAVQ method is spelled on the command line: {@code rsavq-B} (B = 1..8 target bits, the
 * paper's presets being 2, 3 and 4), optionally followed by overrides
 * {@code :groups=G,v=V,sub=S,lambda=L,iters=T,kmeans=I,stability=N,allocation=paper|waterfill,
 * sensitivity=paper|fisher,edsg=on|off,wcsg=on|off,scale=row|none,rescale=on|off,damping=D,seed=N}.
 */
public final class RsavqMethod {
    public static final String KEYS = "groups=G,v=V,sub=S,lambda=L,iters=T,kmeans=I,stability=N,"
            + "allocation=paper|waterfill,sensitivity=paper|fisher,edsg=on|off,wcsg=on|off,scale=row|none,rescale=on|off,damping=D,seed=N";

    private RsavqMethod() {}

    /** Parses {@code lower} (the lower-cased {@code text}); errors name {@code text}. */
    public static RsavqParams parse(String text, String lower) {
        int colon = lower.indexOf(':');
        String preset = colon < 0 ? lower : lower.substring(0, colon);
        if (!preset.matches("rsavq-\\d+")) {
            throw new JvqException("method '" + text + "': expected rsavq-B with B the target bits (rsavq-2, rsavq-3,"
                    + " rsavq-4)");
        }
        int bits = MethodText.integer(text, "bits", preset.substring("rsavq-".length()));
        RsavqParams d;
        try {
            d = RsavqParams.preset(bits);
        } catch (JvqException e) {
            throw new JvqException("method '" + text + "': " + e.getMessage());
        }
        if (colon < 0) {
            return d;
        }
        int groups = d.groups();
        int v = d.vectorLength();
        int sub = d.subspaces();
        double lambda = d.lambda();
        int iters = d.edsgIters();
        int kmeans = d.kmeansIters();
        int stability = d.stability();
        AllocationRule allocation = d.allocation();
        Sensitivity sensitivity = d.sensitivity();
        boolean edsg = d.edsg();
        boolean wcsg = d.wcsg();
        boolean scale = d.rowScale();
        boolean rescale = d.rescaleNaturalGradient();
        double damping = d.damping();
        long seed = d.seed();
        for (String kv : lower.substring(colon + 1).split(",")) {
            int eq = kv.indexOf('=');
            if (eq < 1) {
                throw new JvqException("method '" + text + "': expected key=value, got '" + kv + "'");
            }
            String key = kv.substring(0, eq).trim();
            String val = kv.substring(eq + 1).trim();
            switch (key) {
                case "groups" -> groups = MethodText.integer(text, key, val);
                case "v", "vector-length" -> v = MethodText.integer(text, key, val);
                case "sub", "subspaces" -> sub = MethodText.integer(text, key, val);
                case "lambda" -> lambda = MethodText.number(text, key, val);
                case "iters" -> iters = MethodText.integer(text, key, val);
                case "kmeans" -> kmeans = MethodText.integer(text, key, val);
                case "stability" -> stability = MethodText.integer(text, key, val);
                case "allocation" -> allocation = AllocationRule.parse(val);
                case "sensitivity" -> sensitivity = Sensitivity.parse(val);
                case "edsg" -> edsg = onOff(text, key, val);
                case "wcsg" -> wcsg = onOff(text, key, val);
                case "scale" -> scale = switch (val) {
                    case "row" -> true;
                    case "none" -> false;
                    default -> throw new JvqException("method '" + text + "': scale must be row or none, got '" + val
                            + "'");
                };
                case "rescale" -> rescale = onOff(text, key, val);
                case "damping" -> damping = MethodText.number(text, key, val);
                case "seed" -> seed = MethodText.longInteger(text, key, val);
                default -> throw new JvqException("method '" + text + "': unknown RSAVQ parameter '" + key
                        + "' (known: " + KEYS + ")");
            }
        }
        try {
            return new RsavqParams(bits, groups, v, sub, lambda, iters, kmeans, stability, edsg, wcsg, allocation,
                    sensitivity, scale, rescale, damping, seed);
        } catch (JvqException e) {
            throw new JvqException("method '" + text + "': " + e.getMessage());
        }
    }

    /** The canonical spelling: the preset plus every knob that differs from it. */
    public static String name(RsavqParams p) {
        RsavqParams d = RsavqParams.preset(p.bits());
        StringBuilder sb = new StringBuilder("rsavq-" + p.bits());
        Appender a = new Appender(sb);
        a.add(p.groups() != d.groups(), "groups=" + p.groups());
        a.add(p.vectorLength() != d.vectorLength(), "v=" + p.vectorLength());
        a.add(p.subspaces() != d.subspaces(), "sub=" + p.subspaces());
        a.add(p.lambda() != d.lambda(), "lambda=" + p.lambda());
        a.add(p.edsgIters() != d.edsgIters(), "iters=" + p.edsgIters());
        a.add(p.kmeansIters() != d.kmeansIters(), "kmeans=" + p.kmeansIters());
        a.add(p.stability() != d.stability(), "stability=" + p.stability());
        a.add(p.allocation() != d.allocation(), "allocation=" + p.allocation().id());
        a.add(p.sensitivity() != d.sensitivity(), "sensitivity=" + p.sensitivity().id());
        a.add(p.edsg() != d.edsg(), "edsg=" + (p.edsg() ? "on" : "off"));
        a.add(p.wcsg() != d.wcsg(), "wcsg=" + (p.wcsg() ? "on" : "off"));
        a.add(p.rowScale() != d.rowScale(), "scale=" + (p.rowScale() ? "row" : "none"));
        a.add(p.rescaleNaturalGradient() != d.rescaleNaturalGradient(),
                "rescale=" + (p.rescaleNaturalGradient() ? "on" : "off"));
        a.add(p.damping() != d.damping(), "damping=" + p.damping());
        a.add(p.seed() != d.seed(), "seed=" + p.seed());
        return sb.toString();
    }

    private static final class Appender {
        private final StringBuilder sb;
        private String sep = ":";

        Appender(StringBuilder sb) {
            this.sb = sb;
        }

        void add(boolean differs, String kv) {
            if (differs) {
                sb.append(sep).append(kv);
                sep = ",";
            }
        }
    }

    private static boolean onOff(String text, String key, String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "on", "true", "1" -> true;
            case "off", "false", "0" -> false;
            default -> throw new JvqException("method '" + text + "': " + key + " must be on or off, got '" + v + "'");
        };
    }
}
