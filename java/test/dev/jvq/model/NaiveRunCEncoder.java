package dev.jvq.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A literal, quadratic port of llama2.c run.c encode() for tests: rescans every adjacent pair per
 * merge and looks concatenated strings up in the vocabulary. Independent of {@link Llama2cTokenizer}.
 */
final class NaiveRunCEncoder {
    final List<byte[]> vocab = new ArrayList<>();
    final List<Float> scores = new ArrayList<>();
    final Map<String, Integer> lookup = new HashMap<>();

    NaiveRunCEncoder(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        while (b.hasRemaining()) {
            float s = b.getFloat();
            byte[] p = new byte[b.getInt()];
            b.get(p);
            lookup.putIfAbsent(str(p), vocab.size());
            vocab.add(p);
            scores.add(s);
        }
    }

    private static String str(byte[] p) {
        return new String(p, StandardCharsets.ISO_8859_1);
    }

    int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        List<Integer> t = new ArrayList<>();
        if (b.length > 0) {
            t.add(lookup.get(" "));
        }
        for (int i = 0; i < b.length;) {
            int j = i + 1;
            while (j < b.length && j - i < 4 && (b[j] & 0xC0) == 0x80) {
                j++;
            }
            Integer id = lookup.get(str(Arrays.copyOfRange(b, i, j)));
            if (id != null) {
                t.add(id);
            } else {
                for (int k = i; k < j; k++) {
                    t.add((b[k] & 0xff) + 3);
                }
            }
            i = j;
        }
        while (true) {
            float best = -1e10f;
            int bestIdx = -1;
            int bestId = -1;
            for (int i = 0; i + 1 < t.size(); i++) {
                Integer id = lookup.get(str(vocab.get(t.get(i))) + str(vocab.get(t.get(i + 1))));
                if (id != null && scores.get(id) > best) {
                    best = scores.get(id);
                    bestIdx = i;
                    bestId = id;
                }
            }
            if (bestIdx < 0) {
                break;
            }
            t.set(bestIdx, bestId);
            t.remove(bestIdx + 1);
        }
        return t.stream().mapToInt(Integer::intValue).toArray();
    }
}
