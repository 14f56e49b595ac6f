package dev.jvq.train;

import dev.jvq.backend.Backend;
import dev.jvq.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

/**
 * The three row-major matrix products of a linear layer's forward and backward pass, in float64
 * loops or in f32 on a backend. Operands are double arrays either way, so the caller's code does not
 * depend on the precision; the f32 path rounds its inputs to f32 and widens the result.
 */
final class MatrixProducts {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final Precision precision;
    private final Backend backend;

    MatrixProducts(Precision precision, Backend backend) {
        this.precision = precision;
        this.backend = backend;
    }

    /** Y[t x m] = X[t x n] Wᵀ, W [m x n]: the forward product. */
    double[] forward(double[] x, double[] w, int t, int m, int n) {
        if (precision == Precision.F64) {
            double[] y = new double[t * m];
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    double s = 0;
                    for (int j = 0; j < n; j++) {
                        s += x[i * n + j] * w[r * n + j];
                    }
                    y[i * m + r] = s;
                }
            }
            return y;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment y = a.allocate(4L * t * m, 64);
            backend.gemm(DType.F32, floats(a, w), floats(a, x), y, t, m, n);
            return doubles(y, t * m);
        }
    }

    /** dX[t x n] = dY[t x m] W, W [m x n]: the gradient of a linear layer's input. */
    double[] inputGradient(double[] dy, double[] w, int t, int m, int n) {
        if (precision == Precision.F64) {
            double[] dx = new double[t * n];
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    double g = dy[i * m + r];
                    for (int j = 0; j < n; j++) {
                        dx[i * n + j] += g * w[r * n + j];
                    }
                }
            }
            return dx;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dx = a.allocate(4L * t * n, 64);
            backend.sgemm(floats(a, dy), floats(a, w), dx, t, n, m, false);
            return doubles(dx, t * n);
        }
    }

    /** dW[m x n] = dY[t x m]ᵀ X[t x n]: the gradient of a linear layer's weight. */
    double[] weightGradient(double[] dy, double[] x, int t, int m, int n) {
        if (precision == Precision.F64) {
            double[] dw = new double[m * n];
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    double g = dy[i * m + r];
                    for (int j = 0; j < n; j++) {
                        dw[r * n + j] += g * x[i * n + j];
                    }
                }
            }
            return dw;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dyT = a.allocate(4L * t * m, 64);
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    dyT.setAtIndex(F32, (long) r * t + i, (float) dy[i * m + r]);
                }
            }
            MemorySegment dw = a.allocate(4L * m * n, 64);
            backend.sgemm(dyT, floats(a, x), dw, m, n, t, false);
            return doubles(dw, m * n);
        }
    }

    /** Gram rows per register group: four rows of the tile share each load of the other operand. */
    private static final int GRAM_GROUP = 4;
    /** Gram tile: GRAM_ROWS x GRAM_COLS doubles (32 KiB) stay in cache while every row of G streams by. */
    private static final int GRAM_ROWS = 16;
    private static final int GRAM_COLS = 256;

    /**
     * acc [n x n] += GᵀG for G [m x n] row-major, in float64, exactly symmetric. The upper triangle is
     * cut into tiles computed in parallel; each tile is accumulated over the rows of G in order and
     * mirrored, so every entry is the same left-to-right float64 sum over r as a plain triple loop
     * (bit-identical to it, whatever the thread count). Tiles write disjoint parts of {@code acc}.
     */
    static void addColumnGram(double[] acc, double[] g, int m, int n) {
        if (g.length != (long) m * n || acc.length != (long) n * n) {
            throw new IllegalArgumentException("Gram of " + g.length + " values as " + m + "x" + n + " into "
                    + acc.length);
        }
        int rowTiles = (n + GRAM_ROWS - 1) / GRAM_ROWS;
        int colTiles = (n + GRAM_COLS - 1) / GRAM_COLS;
        // Tile (ra, cb) covers rows [ra·R, ..) and columns [cb·C, ..); only tiles touching the upper triangle.
        int[] tiles = IntStream.range(0, rowTiles * colTiles)
                .filter(t -> (t % colTiles + 1) * GRAM_COLS > (t / colTiles) * GRAM_ROWS).toArray();
        IntStream stream = IntStream.of(tiles);
        if ((long) m * n * n > 1 << 20) {
            stream = stream.parallel();
        }
        stream.forEach(t -> gramTile(acc, g, m, n, (t / colTiles) * GRAM_ROWS, (t % colTiles) * GRAM_COLS));
    }

    private static void gramTile(double[] acc, double[] g, int m, int n, int a0, int b0) {
        int a1 = Math.min(n, a0 + GRAM_ROWS);
        // Columns left of the diagonal of this tile's first row are below the triangle: start at a0 at least.
        int bStart = Math.max(b0, a0);
        int b1 = Math.min(n, b0 + GRAM_COLS);
        int w = b1 - bStart;
        if (w <= 0) {
            return;
        }
        int rows = a1 - a0;
        double[] tile = new double[GRAM_ROWS * w];
        for (int r = 0; r < m; r++) {
            int base = r * n;
            int a = 0;
            for (; a + GRAM_GROUP <= rows; a += GRAM_GROUP) {
                double f0 = g[base + a0 + a];
                double f1 = g[base + a0 + a + 1];
                double f2 = g[base + a0 + a + 2];
                double f3 = g[base + a0 + a + 3];
                int t0 = a * w;
                int t1 = t0 + w;
                int t2 = t1 + w;
                int t3 = t2 + w;
                for (int j = 0; j < w; j++) {
                    double v = g[base + bStart + j];
                    tile[t0 + j] += f0 * v;
                    tile[t1 + j] += f1 * v;
                    tile[t2 + j] += f2 * v;
                    tile[t3 + j] += f3 * v;
                }
            }
            for (; a < rows; a++) {
                double f = g[base + a0 + a];
                int t0 = a * w;
                for (int j = 0; j < w; j++) {
                    tile[t0 + j] += f * g[base + bStart + j];
                }
            }
        }
        for (int a = 0; a < rows; a++) {
            int row = a0 + a;
            for (int j = 0; j < w; j++) {
                int col = bStart + j;
                if (col < row) {
                    continue;
                }
                double s = tile[a * w + j];
                acc[row * n + col] += s;
                if (col != row) {
                    acc[col * n + row] += s;
                }
            }
        }
    }

    /** The transpose of a [rows x cols] row-major matrix. */
    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }

    private static MemorySegment floats(Arena a, double[] v) {
        MemorySegment s = a.allocate(4L * v.length, 64);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(F32, i, (float) v[i]);
        }
        return s;
    }

    private static double[] doubles(MemorySegment s, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = s.getAtIndex(F32, i);
        }
        return d;
    }
}
