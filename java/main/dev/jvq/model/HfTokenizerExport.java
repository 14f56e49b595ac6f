package dev.jvq.model;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A llama2.c vocabulary (SentencePiece BPE with scores) as a Hugging Face tokenizer.json of the
 * Llama 2 kind: normalizer Prepend("▁") + Replace(" " → "▁"), BPE with byte fallback, decoder
 * Replace/ByteFallback/Fuse/Strip; ids 0, 1, 2 become the special tokens {@code <unk>}, {@code <s>},
 * {@code </s>} (run.c's fixed unk/BOS/EOS ids).
 *
 * <p>llama2.c merges by score: any adjacent pair whose concatenation is a piece may merge, highest
 * piece score first. tokenizer.json lists explicit pairs by rank instead, so every way of writing a
 * piece as two pieces becomes a merge, ranked by the piece's score (higher first). The two agree
 * except when two different splits of the same piece compete in overlapping positions (run.c takes
 * the leftmost, the ranked list the earlier split), which is rare; the tests measure it on real text.
 * Texts containing "▁" (U+2581) or the literal special-token strings also encode differently, as
 * with any Hugging Face Llama 2 tokenizer.
 */
final class HfTokenizerExport {
    private HfTokenizerExport() {}

    static final String UNK = "<unk>";
    static final String BOS = "<s>";
    static final String EOS = "</s>";
    /** run.c never merges pieces scoring at or below its initial best score. */
    private static final float MIN_SCORE = -1e10f;

    static ObjectNode tokenizerJson(Llama2cTokenizer t) {
        int n = t.vocabSize();
        String[] text = new String[n];
        boolean[] normal = new boolean[n];
        Map<String, Integer> ids = new HashMap<>();
        for (int id = 0; id < n; id++) {
            String s = switch (id) {
                case 0 -> UNK;
                case 1 -> BOS;
                case 2 -> EOS;
                default -> pieceText(t, id);
            };
            normal[id] = id > 2 && !isByteToken(s);
            Integer dup = ids.putIfAbsent(s, id);
            if (dup != null) {
                throw JvqException.badFile(t.source(), "pieces " + dup + " and " + id + " are both '" + s
                        + "'; a tokenizer.json vocabulary needs distinct pieces");
            }
            text[id] = s;
        }

        ObjectNode root = HfJson.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < 3; id++) {
            added.addObject().put("id", id).put("content", text[id]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode normalizers = norm.putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode replace = normalizers.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "▁");
        root.putNull("pre_tokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bosEntry = post.putObject("special_tokens").putObject(BOS);
        bosEntry.put("id", BOS);
        bosEntry.putArray("ids").add(1);
        bosEntry.putArray("tokens").add(BOS);
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode decoders = dec.putArray("decoders");
        ObjectNode rep = decoders.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", "▁");
        rep.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", UNK);
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < n; id++) {
            vocab.put(text[id], id);
        }
        ArrayNode merges = model.putArray("merges");
        for (String[] m : merges(t, text, normal, ids)) {
            merges.add(m[0] + " " + m[1]);
        }
        return root;
    }

    /** Every split of every mergeable piece into two ordinary pieces, highest piece score first. */
    private static List<String[]> merges(Llama2cTokenizer t, String[] text, boolean[] normal, Map<String, Integer> ids) {
        record Merge(float score, int id, int split, String left, String right) {}
        List<Merge> list = new ArrayList<>();
        for (int id = 0; id < text.length; id++) {
            if (!normal[id] || !(t.score(id) > MIN_SCORE)) {
                continue;
            }
            String s = text[id];
            for (int k = s.offsetByCodePoints(0, 1); k < s.length(); k = s.offsetByCodePoints(k, 1)) {
                Integer a = ids.get(s.substring(0, k));
                Integer b = ids.get(s.substring(k));
                if (a != null && b != null && normal[a] && normal[b]) {
                    list.add(new Merge(t.score(id), id, k, s.substring(0, k), s.substring(k)));
                }
            }
        }
        list.sort(Comparator.comparingDouble((Merge m) -> -m.score()).thenComparingInt(Merge::id)
                .thenComparingInt(Merge::split));
        List<String[]> out = new ArrayList<>(list.size());
        for (Merge m : list) {
            out.add(new String[] {m.left(), m.right()});
        }
        return out;
    }

    /** A piece's text with SentencePiece's "▁" restored for the spaces llama2.c's export wrote. */
    private static String pieceText(Llama2cTokenizer t, int id) {
        byte[] b = t.piece(id);
        String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw JvqException.badFile(t.source(), "piece " + id + " is not valid UTF-8");
        }
        if (s.isEmpty()) {
            throw JvqException.badFile(t.source(), "piece " + id + " is empty");
        }
        return isByteToken(s) ? s : s.replace(' ', '▁');
    }

    static boolean isByteToken(String s) {
        return s.length() == 6 && s.startsWith("<0x") && s.endsWith(">")
                && Character.digit(s.charAt(3), 16) >= 0 && Character.digit(s.charAt(4), 16) >= 0;
    }

    static ObjectNode tokenizerConfig(int maxLength) {
        ObjectNode n = HfJson.MAPPER.createObjectNode();
        n.put("add_bos_token", true);
        n.put("add_eos_token", false);
        n.put("bos_token", BOS);
        n.put("eos_token", EOS);
        n.put("unk_token", UNK);
        n.put("model_max_length", maxLength);
        n.put("legacy", true);
        n.put("clean_up_tokenization_spaces", false);
        n.put("tokenizer_class", "LlamaTokenizerFast");
        return n;
    }
}
