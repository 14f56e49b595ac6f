package dev.jvq;

/**
 * An error the user can act on: bad input, a missing file, an unavailable backend. The CLI prints
 * its message as one line ({@code jvq: <message>}) and exits non-zero; the stack trace is shown only
 * with {@code --verbose}. Messages name the file (or option) and what is wrong with it.
 */
public class JvqException extends RuntimeException {
    public JvqException(String message) {
        super(message);
    }

    public JvqException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A problem with the contents of a file: "{@code <path>: <problem>}". */
    public static JvqException badFile(Object path, String problem) {
        return new JvqException(path + ": " + problem);
    }
}
