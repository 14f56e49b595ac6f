package dev.jvq.model;

import dev.jvq.JvqException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens a model and its tokenizer from the paths a user gives, choosing the reader by format, and
 * checks that the two belong together.
 */
public final class ModelFiles {
    /** The tokenizer looked for next to a llama2.c model when none is given. */
    public static final String DEFAULT_TOKENIZER = "tokenizer.bin";

    private ModelFiles() {}

    /** Opens a model: a compressed .jvq file, or a llama2.c version-0 .bin checkpoint. */
    public static LlamaModel openModel(Path model) {
        if (isCompressed(model)) {
            return dev.jvq.pipeline.CompressedModel.load(model).model();
        }
        return Llama2cCheckpoint.load(model);
    }

    /** A .jvq file carries its own tokenizer. */
    public static boolean isCompressed(Path model) {
        return model.getFileName() != null && model.getFileName().toString().endsWith(".jvq");
    }

    /** Where the tokenizer of {@code model} is: {@code explicit} if given, else tokenizer.bin beside the model. */
    public static Path tokenizerPath(Path explicit, Path model) {
        if (explicit != null) {
            return explicit;
        }
        Path dir = model.toAbsolutePath().getParent();
        Path candidate = dir == null ? Path.of(DEFAULT_TOKENIZER) : dir.resolve(DEFAULT_TOKENIZER);
        if (!Files.isRegularFile(candidate)) {
            throw new JvqException(model + ": no " + DEFAULT_TOKENIZER + " next to the model; pass --tokenizer");
        }
        return candidate;
    }

    /** Opens a tokenizer file (llama2.c tokenizer.bin). */
    public static Tokenizer openTokenizer(Path tokenizer) {
        return Llama2cTokenizer.load(tokenizer);
    }

    /** Opens the tokenizer of {@code model} and checks that its vocabulary is the model's. */
    public static Tokenizer openTokenizerFor(Path explicit, Path modelPath, LlamaModel model) {
        if (explicit == null && isCompressed(modelPath)) {
            return dev.jvq.pipeline.CompressedModel.readTokenizer(modelPath);
        }
        Path p = tokenizerPath(explicit, modelPath);
        Tokenizer t = openTokenizer(p);
        checkVocabulary(t, p, model);
        return t;
    }

    /** A tokenizer whose vocabulary size differs from the model's would index the wrong embedding rows. */
    public static void checkVocabulary(Tokenizer t, Path tokenizerPath, LlamaModel model) {
        if (t.vocabSize() != model.config().vocabSize()) {
            throw JvqException.badFile(tokenizerPath, "has " + t.vocabSize() + " tokens but the model "
                    + model.source() + " has a vocabulary of " + model.config().vocabSize()
                    + "; pass the model's own tokenizer");
        }
    }
}
