package dev.jvq.backend.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-kept bindings in {@link jvq_h} against native/include/jvq.h: every declared function has
 * a {@code <name>$DESC} descriptor whose layouts match the C types and a static wrapper whose Java
 * parameter types are the descriptor's carriers; every binding is declared in the header; every
 * {@code #define JVQ_*} constant has the same value in Java; and each symbol exists in libjvq.so.
 */
class JvqHeaderBindingTest {

    private static final Path HEADER = Path.of("native", "include", "jvq.h");
    /** {@code <return type> <name>(<params>);} on one line, as the header promises. */
    private static final Pattern DECL = Pattern.compile("^\\s*([A-Za-z_][\\w\\s]*?\\**)\\s*\\b(jvq_\\w+)\\s*\\((.*)\\)\\s*;");
    private static final Pattern DEFINE = Pattern.compile("^#define\\s+(JVQ_\\w+)\\s+(-?\\d+)\\b");

    record Decl(String name, String returnType, List<String> paramTypes, String line) {}

    static Map<String, Decl> parseHeader() throws IOException {
        Map<String, Decl> decls = new LinkedHashMap<>();
        boolean inComment = false;
        for (String raw : Files.readAllLines(HEADER)) {
            String line = raw;
            if (inComment) {
                int end = line.indexOf("*/");
                if (end < 0) {
                    continue;
                }
                line = line.substring(end + 2);
                inComment = false;
            }
            line = line.replaceAll("/\\*.*?\\*/", "");
            int open = line.indexOf("/*");
            if (open >= 0) {
                line = line.substring(0, open);
                inComment = true;
            }
            Matcher m = DECL.matcher(line);
            if (!m.find()) {
                continue;
            }
            List<String> params = new ArrayList<>();
            String plist = m.group(3).trim();
            if (!plist.equals("void") && !plist.isEmpty()) {
                for (String p : plist.split(",")) {
                    // Drop the parameter name: the type is everything up to the last identifier.
                    String t = p.trim().replaceAll("\\b[A-Za-z_]\\w*$", "").trim();
                    params.add(t);
                }
            }
            decls.put(m.group(2), new Decl(m.group(2), m.group(1).trim(), params, raw.trim()));
        }
        return decls;
    }

    static Optional<MemoryLayout> layoutOf(String cType) {
        String t = cType.replace("const", "").replaceAll("\\s+", " ").trim();
        if (t.endsWith("*")) {
            return Optional.of(ValueLayout.ADDRESS);
        }
        return switch (t) {
            case "void" -> Optional.empty();
            case "int32_t" -> Optional.of(ValueLayout.JAVA_INT);
            case "int64_t" -> Optional.of(ValueLayout.JAVA_LONG);
            case "float" -> Optional.of(ValueLayout.JAVA_FLOAT);
            case "double" -> Optional.of(ValueLayout.JAVA_DOUBLE);
            default -> throw new AssertionError("jvq.h uses a C type this test does not map: '" + cType + "'");
        };
    }

    static Class<?> carrierOf(Optional<MemoryLayout> layout) {
        if (layout.isEmpty()) {
            return void.class;
        }
        MemoryLayout l = layout.get();
        if (l instanceof ValueLayout v) {
            return v.carrier();
        }
        throw new AssertionError(l.toString());
    }

    @Test
    void headerParsesIntoTheExpectedDeclarations() throws IOException {
        Map<String, Decl> decls = parseHeader();
        // A parser that silently matched nothing would make the other tests vacuous.
        assertTrue(decls.size() >= 20, "only " + decls.size() + " declarations parsed from " + HEADER);
        Decl gemv = decls.get("jvq_gemv");
        assertEquals("int32_t", gemv.returnType());
        assertEquals(List.of("int32_t", "const void*", "const float*", "float*", "int64_t", "int64_t"), gemv.paramTypes());
        assertEquals("const char*", decls.get("jvq_build_info").returnType());
        assertEquals(List.of(), decls.get("jvq_abi_version").paramTypes());
    }

    @Test
    void everyDeclaredFunctionHasAMatchingBinding() throws Exception {
        List<String> problems = new ArrayList<>();
        for (Decl d : parseHeader().values()) {
            Field descField;
            try {
                descField = jvq_h.class.getField(d.name() + "$DESC");
            } catch (NoSuchFieldException e) {
                problems.add(d.name() + ": no " + d.name() + "$DESC in jvq_h");
                continue;
            }
            FunctionDescriptor desc = (FunctionDescriptor) descField.get(null);
            Optional<MemoryLayout> ret = layoutOf(d.returnType());
            List<MemoryLayout> args = new ArrayList<>();
            for (String p : d.paramTypes()) {
                args.add(layoutOf(p).orElseThrow(() -> new AssertionError(d.line() + ": void parameter")));
            }
            FunctionDescriptor want = ret.isPresent()
                    ? FunctionDescriptor.of(ret.get(), args.toArray(MemoryLayout[]::new))
                    : FunctionDescriptor.ofVoid(args.toArray(MemoryLayout[]::new));
            if (!want.equals(desc)) {
                problems.add(d.name() + ": descriptor " + desc + " but the header says " + want + " (" + d.line() + ")");
                continue;
            }
            Class<?>[] carriers = args.stream().map(l -> carrierOf(Optional.of(l))).toArray(Class<?>[]::new);
            try {
                Method m = jvq_h.class.getMethod(d.name(), carriers);
                if (!Modifier.isStatic(m.getModifiers()) || m.getReturnType() != carrierOf(ret)) {
                    problems.add(d.name() + ": wrapper is not static or returns " + m.getReturnType());
                }
            } catch (NoSuchMethodException e) {
                problems.add(d.name() + ": no static wrapper " + d.name() + List.of(carriers));
            }
            if (NativeLibrary.lookup().find(d.name()).isEmpty()) {
                problems.add(d.name() + ": not exported by " + NativeLibrary.source());
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }

    @Test
    void everyBindingIsDeclaredInTheHeader() throws IOException {
        Map<String, Decl> decls = parseHeader();
        TreeSet<String> extra = new TreeSet<>();
        for (Field f : jvq_h.class.getFields()) {
            if (f.getName().endsWith("$DESC")) {
                String name = f.getName().substring(0, f.getName().length() - "$DESC".length());
                if (!decls.containsKey(name)) {
                    extra.add(name);
                }
            }
        }
        assertTrue(extra.isEmpty(), "bindings without a declaration in jvq.h: " + extra);
    }

    @Test
    void constantsMatchTheHeader() throws Exception {
        int seen = 0;
        for (String line : Files.readAllLines(HEADER)) {
            Matcher m = DEFINE.matcher(line);
            if (m.find()) {
                Field f = jvq_h.class.getField(m.group(1));
                assertEquals(Integer.parseInt(m.group(2)), f.getInt(null), m.group(1));
                seen++;
            }
        }
        assertTrue(seen >= 6, "only " + seen + " JVQ_* constants parsed");
    }

    @Test
    void loadedLibraryReportsThisAbiAndABuild() {
        assertEquals(jvq_h.JVQ_ABI_VERSION, jvq_h.jvq_abi_version());
        String info = jvq_h.jvq_build_info().reinterpret(Long.MAX_VALUE).getString(0);
        assertFalse(info.isBlank());
        assertTrue(jvq_h.jvq_max_threads() >= 1);
        assertFalse(jvq_h.jvq_build_info().equals(MemorySegment.NULL));
    }
}
