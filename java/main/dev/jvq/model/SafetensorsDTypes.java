package dev.jvq.model;

import dev.jvq.tensor.DType;
import java.util.Map;

/** The safetensors spelling of each {@link DType} jvq can hold ("F32", "BF16", …), both ways. */
final class SafetensorsDTypes {
    private SafetensorsDTypes() {}

    private static final Map<String, DType> BY_NAME = Map.of(
            "F64", DType.F64,
            "F32", DType.F32,
            "F16", DType.F16,
            "BF16", DType.BF16,
            "I64", DType.I64,
            "I32", DType.I32,
            "I8", DType.I8,
            "U8", DType.U8);

    /** The DType for a safetensors dtype string, or null when jvq has no such type (F8_E4M3, BOOL, …). */
    static DType fromName(String name) {
        return BY_NAME.get(name);
    }

    /** The safetensors dtype string of a DType (the enum names coincide with the format's). */
    static String toName(DType dtype) {
        return dtype.name();
    }
}
