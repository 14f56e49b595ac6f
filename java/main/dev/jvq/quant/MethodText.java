package dev.jvq.quant;

import dev.jvq.JvqException;

/** Numbers inside a method spelling such as {@code hasvq-mid:k=256}: errors name the whole spelling. */
public final class MethodText {
    private MethodText() {}

    public static int integer(String text, String what, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new JvqException("method '" + text + "': " + what + " '" + v + "' is not an integer");
        }
    }

    public static long longInteger(String text, String what, String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new JvqException("method '" + text + "': " + what + " '" + v + "' is not an integer");
        }
    }

    public static double number(String text, String what, String v) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new JvqException("method '" + text + "': " + what + " '" + v + "' is not a number");
        }
    }
}
