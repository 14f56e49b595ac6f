package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Hugging Face {@code tokenizer.json} with a BPE model — both families Llama checkpoints use:
 * <ul>
 *   <li>byte-level BPE (GPT-2, SmolLM2, Llama 3): a ByteLevel pre-tokenizer (with GPT-2's split, or
 *       after a Split with the model's own regex) maps every UTF-8 byte to a printable character,
 *       BPE merges those, and the ByteLevel decoder maps them back;</li>
 *   <li>SentencePiece-style BPE (Llama 2, TinyLlama): the normalizer turns spaces into "▁" and
 *       prepends one, BPE runs over the whole text with byte fallback ({@code <0xHH>} tokens for
 *       characters outside the vocabulary), and the decoder undoes both.</li>
 * </ul>
 * Encoding follows the reference library: added tokens are cut out of the raw text first; each
 * remaining stretch is normalised, pre-tokenised into words, and each word encoded by BPE. Nothing
 * is added around the text (no BOS); see {@link #addsBos()}.
 *
 * <p>BOS and EOS come from tokenizer_config.json when the directory has one, else from
 * config.json's ids, else from the usual token names ({@code <s>}, {@code <|begin_of_text|>}, …).
 */
public final class HfTokenizer implements Tokenizer {
    public static final String FILE = "tokenizer.json";
    public static final String CONFIG_FILE = "tokenizer_config.json";

    private final HfAddedTokens added;
    private final HfNormalizer normalizer;
    private final HfPreTokenizer preTokenizer;
    private final HfBpeModel model;
    private final HfDecoder decoder;
    private final int vocabSize;
    private final int bosId;
    private final int eosId;
    private final boolean addsBos;

    private HfTokenizer(HfAddedTokens added, HfNormalizer normalizer, HfPreTokenizer preTokenizer, HfBpeModel model,
            HfDecoder decoder, int bosId, int eosId, boolean addsBos) {
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.decoder = decoder;
        this.vocabSize = Math.max(model.tokenCount(), added.maxId() + 1);
        this.bosId = bosId;
        this.eosId = eosId;
        this.addsBos = addsBos;
    }

    /**
     * Loads {@code tokenizer.json} (a directory holding it, or the file itself), with the BOS/EOS
     * choice of tokenizer_config.json and config.json beside it when they exist.
     */
    public static HfTokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        Path dir = file.toAbsolutePath().getParent();
        JsonNode root = HfJson.read(file);
        Path tcPath = dir.resolve(CONFIG_FILE);
        JsonNode tokenizerConfig = Files.isRegularFile(tcPath) ? HfJson.read(tcPath) : null;
        Path cfgPath = dir.resolve(HfConfig.FILE);
        JsonNode modelConfig = Files.isRegularFile(cfgPath) ? HfJson.read(cfgPath) : null;
        return parse(root, file, tokenizerConfig, tcPath, modelConfig);
    }

    /** Builds a tokenizer from parsed JSON; the two configs may be null. */
    public static HfTokenizer parse(JsonNode root, Object source, JsonNode tokenizerConfig, Object tcSource,
            JsonNode modelConfig) {
        HfAddedTokens added = HfAddedTokens.of(root.get("added_tokens"), source);
        HfBpeModel model = HfBpeModel.of(root.get("model"), source);
        HfNormalizer normalizer = HfNormalizer.of(root.get("normalizer"), source);
        HfPreTokenizer pre = HfPreTokenizer.of(root.get("pre_tokenizer"), source);
        HfDecoder decoder = HfDecoder.of(root.get("decoder"), source);
        int bos = specialId("bos", added, model, tokenizerConfig, tcSource, modelConfig,
                List.of("<s>", "<|begin_of_text|>", "<|endoftext|>"));
        int eos = specialId("eos", added, model, tokenizerConfig, tcSource, modelConfig,
                List.of("</s>", "<|end_of_text|>", "<|endoftext|>"));
        boolean addsBos;
        if (tokenizerConfig != null && tokenizerConfig.path("add_bos_token").isBoolean()) {
            addsBos = tokenizerConfig.get("add_bos_token").booleanValue();
        } else {
            addsBos = bos >= 0 && templateStartsWith(root.get("post_processor"), bos, added, model);
        }
        return new HfTokenizer(added, normalizer, pre, model, decoder, bos, eos, addsBos);
    }

    private static int specialId(String which, HfAddedTokens added, HfBpeModel model, JsonNode tokenizerConfig,
            Object tcSource, JsonNode modelConfig, List<String> usualNames) {
        if (tokenizerConfig != null && tokenizerConfig.has(which + "_token")) {
            JsonNode t = tokenizerConfig.get(which + "_token");
            if (t.isNull()) {
                return -1;
            }
            String content = t.isObject() ? t.path("content").asText(null) : t.asText(null);
            int id = idOf(content, added, model);
            if (id < 0) {
                throw JvqException.badFile(tcSource, which + "_token '" + content + "' is not in the tokenizer");
            }
            return id;
        }
        if (modelConfig != null) {
            JsonNode id = modelConfig.get(which + "_token_id");
            if (id != null && id.isArray() && !id.isEmpty()) {
                id = id.get(0);
            }
            if (id != null && id.canConvertToInt() && id.isIntegralNumber() && id.intValue() >= 0) {
                return id.intValue();
            }
        }
        for (String name : usualNames) {
            int id = idOf(name, added, model);
            if (id >= 0) {
                return id;
            }
        }
        return -1;
    }

    private static int idOf(String content, HfAddedTokens added, HfBpeModel model) {
        if (content == null) {
            return -1;
        }
        HfAddedTokens.AddedToken t = added.byContent(content);
        if (t != null) {
            return t.id();
        }
        Integer id = model.id(content);
        return id == null ? -1 : id;
    }

    /** Whether the post-processor's single-sequence template begins with the BOS token. */
    private static boolean templateStartsWith(JsonNode pp, int bos, HfAddedTokens added, HfBpeModel model) {
        if (pp == null || pp.isNull()) {
            return false;
        }
        String type = pp.path("type").asText();
        if (type.equals("Sequence")) {
            for (JsonNode p : pp.path("processors")) {
                if (templateStartsWith(p, bos, added, model)) {
                    return true;
                }
            }
            return false;
        }
        if (!type.equals("TemplateProcessing")) {
            return false;
        }
        JsonNode first = pp.path("single").path(0).path("SpecialToken").path("id");
        return first.isTextual() && idOf(first.textValue(), added, model) == bos;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    /** Whether the model's own pipeline puts BOS before each text (Llama 2 and 3 do; SmolLM2 does not). */
    public boolean addsBos() {
        return addsBos;
    }

    @Override
    public int[] encode(String text) {
        HfBpeModel.IntList out = new HfBpeModel.IntList(text.length() / 3 + 4);
        for (HfAddedTokens.Segment seg : added.splitRaw(text, 0)) {
            if (seg.id() >= 0) {
                out.add(seg.id());
                continue;
            }
            String normalized = normalizer.apply(seg.text());
            for (HfAddedTokens.Segment part : added.splitNormalized(normalized, seg.start())) {
                if (part.id() >= 0) {
                    out.add(part.id());
                    continue;
                }
                List<HfPreTokenizer.Piece> words =
                        preTokenizer.split(List.of(new HfPreTokenizer.Piece(part.text(), part.start() == 0)));
                for (HfPreTokenizer.Piece w : words) {
                    model.encode(w.text(), out);
                }
            }
        }
        return out.toArray();
    }

    /** The token string of {@code id} as stored in tokenizer.json, or null for an unknown id. */
    public String token(int id) {
        HfAddedTokens.AddedToken t = added.byId(id);
        return t != null ? t.content() : model.token(id);
    }

    /**
     * The bytes {@code token} contributes to the text when it follows {@code prev} (-1 at the start).
     * Special tokens (BOS, EOS, chat markers) contribute nothing, as the reference library decodes
     * with skip_special_tokens. A token at the start or right after BOS counts as the start of the
     * text, where the decoder drops the space the encoder prepended. A token may hold part of a
     * UTF-8 character; concatenate bytes before decoding them as text.
     */
    @Override
    public byte[] decodeBytes(int prev, int token) {
        return bytes(token, prev < 0 || prev == bosId);
    }

    private byte[] bytes(int token, boolean first) {
        HfAddedTokens.AddedToken a = added.byId(token);
        if (a != null && a.special()) {
            return new byte[0];
        }
        String s = a != null ? a.content() : model.token(token);
        if (s == null) {
            return new byte[0];
        }
        return decoder.decode(s.getBytes(StandardCharsets.UTF_8), first);
    }

    private boolean isSpecial(int id) {
        HfAddedTokens.AddedToken a = added.byId(id);
        return a != null && a.special();
    }

    @Override
    public String decodeToken(int prev, int token) {
        return new String(decodeBytes(prev, token), StandardCharsets.UTF_8);
    }

    /**
     * Decodes a sequence as the reference library does with skip_special_tokens: special tokens are
     * dropped, the first remaining token is the start of the text, and bytes are joined before they
     * are read as UTF-8 so characters split across tokens come out whole.
     */
    @Override
    public String decode(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean first = true;
        for (int t : tokens) {
            out.writeBytes(bytes(t, first));
            first &= isSpecial(t);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
