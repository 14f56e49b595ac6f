package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A tokenizer.json pattern: {@code {"String": "literal"}} or {@code {"Regex": "…"}}. Regexes are
 * written for Oniguruma; the ones tokenizers use (Unicode classes, lookahead, inline case-folding)
 * mean the same in java.util.regex once \s, \w and case folding are made Unicode-aware.
 */
record HfPattern(Pattern pattern) {

    static HfPattern of(JsonNode node, String what, Object source) {
        if (node != null && node.isObject() && node.size() == 1) {
            if (node.get("String") != null && node.get("String").isTextual()) {
                return new HfPattern(Pattern.compile(Pattern.quote(node.get("String").textValue())));
            }
            if (node.get("Regex") != null && node.get("Regex").isTextual()) {
                return regex(node.get("Regex").textValue(), what, source);
            }
        }
        throw JvqException.badFile(source, what + ": pattern must be {\"String\": …} or {\"Regex\": …}, not "
                + HfJson.abbreviate(node));
    }

    static HfPattern regex(String regex, String what, Object source) {
        try {
            return new HfPattern(Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS));
        } catch (PatternSyntaxException e) {
            throw JvqException.badFile(source, what + ": cannot compile regex " + regex + ": " + e.getDescription());
        }
    }

    /** Non-empty matches, left to right, as [start, end) pairs. */
    List<int[]> matches(String s) {
        List<int[]> out = new ArrayList<>();
        Matcher m = pattern.matcher(s);
        while (m.find()) {
            if (m.end() > m.start()) {
                out.add(new int[] {m.start(), m.end()});
            }
        }
        return out;
    }

    String replaceAll(String s, String content) {
        return pattern.matcher(s).replaceAll(Matcher.quoteReplacement(content));
    }
}
