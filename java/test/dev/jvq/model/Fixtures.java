package dev.jvq.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths of the shared test fixtures (system property jvq.fixtures, set by surefire). */
public final class Fixtures {
    private Fixtures() {}

    public static Path dir() {
        String d = System.getProperty("jvq.fixtures", "../shared/fixtures");
        Path p = Path.of(d);
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("fixtures directory " + p.toAbsolutePath() + " not found (set -Djvq.fixtures)");
        }
        return p;
    }

    public static Path model() {
        return dir().resolve("stories260K.bin");
    }

    public static Path tokenizer() {
        return dir().resolve("tok512.bin");
    }

    public static Path tinyStories() {
        return dir().resolve("tinystories_val_head.txt");
    }

    public static Path wikiTest() {
        return dir().resolve("wikitext2_raw_test.txt");
    }

    public static Path wikiTrain() {
        return dir().resolve("wikitext2_raw_train_head1M.txt");
    }
}
