package dev.jvq.cli;

import dev.jvq.model.LlamaModel;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.Tokenizer;
import dev.jvq.pipeline.CompressedModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Opens what {@code --model} names with its tokenizer: a compressed .jvq file (which carries its
 * tokenizer) or a llama2.c checkpoint (tokenizer from {@code --tokenizer} or beside the model).
 * An explicit {@code --tokenizer} always wins and must match the model's vocabulary.
 */
final class ModelLoader {
    private static final byte[] JVQ_MAGIC = "JVQMODEL".getBytes(StandardCharsets.US_ASCII);

    private ModelLoader() {}

    /** A model and its tokenizer; closing it releases the model's memory. */
    record Opened(LlamaModel model, Tokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    static Opened open(Path model, Path tokenizer) {
        if (startsWithJvqMagic(model)) {
            CompressedModel.Loaded l = CompressedModel.load(model);
            return withTokenizer(l.model(), tokenizer, model, l.tokenizer());
        }
        return withTokenizer(ModelFiles.openModel(model), tokenizer, model, null);
    }

    /** The model alone (benchmarks need no tokenizer). */
    static LlamaModel openModelOnly(Path model) {
        return startsWithJvqMagic(model) ? CompressedModel.load(model).model() : ModelFiles.openModel(model);
    }

    private static Opened withTokenizer(LlamaModel m, Path explicit, Path modelPath, Tokenizer carried) {
        try {
            Tokenizer t = explicit == null && carried != null ? carried
                    : ModelFiles.openTokenizerFor(explicit, modelPath, m);
            return new Opened(m, t);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static boolean startsWithJvqMagic(Path p) {
        if (!Files.isRegularFile(p)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(p)) {
            return Arrays.equals(in.readNBytes(JVQ_MAGIC.length), JVQ_MAGIC);
        } catch (IOException e) {
            return false; // the real reader reports the problem
        }
    }
}
