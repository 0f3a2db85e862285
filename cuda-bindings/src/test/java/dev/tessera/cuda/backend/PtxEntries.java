package dev.tessera.cuda.backend;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The {@code .entry} points of PTX text and their parameters, as {@link Kernel.Param}s. */
final class PtxEntries {
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+(?:\\.align\\s+\\d+\\s+)?\\.(\\w+)\\s+\\w+(?:\\[(\\d+)])?");

    private PtxEntries() {}

    static Map<String, List<Kernel.Param>> parse(String ptx) {
        Map<String, List<Kernel.Param>> out = new LinkedHashMap<>();
        Matcher e = ENTRY.matcher(ptx);
        while (e.find()) {
            List<Kernel.Param> params = new ArrayList<>();
            Matcher p = PARAM.matcher(e.group(2));
            while (p.find()) {
                params.add(param(e.group(1), p.group(1), p.group(2)));
            }
            out.put(e.group(1), params);
        }
        return out;
    }

    private static Kernel.Param param(String entry, String type, String arrayLength) {
        if (arrayLength != null) {
            int bytes = Integer.parseInt(arrayLength);
            if (bytes == Kernel.Param.DIMS.bytes) {
                return Kernel.Param.DIMS;
            }
            if (bytes == Kernel.Param.STRIDES.bytes) {
                return Kernel.Param.STRIDES;
            }
            throw new IllegalArgumentException(entry + ": unexpected " + bytes + "-byte struct parameter");
        }
        return switch (type) {
            // a 64-bit integer parameter is either a pointer or an i64: both travel as 8 bytes
            case "u64", "s64", "b64" -> Kernel.Param.I64;
            case "u32", "s32", "b32" -> Kernel.Param.I32;
            case "f32" -> Kernel.Param.F32;
            default -> throw new IllegalArgumentException(entry + ": unexpected parameter type ." + type);
        };
    }

    /** The kernel's parameters as PTX sees them (pointers are 64-bit integers there). */
    static List<Kernel.Param> asPtx(Kernel k) {
        return k.params.stream().map(p -> p == Kernel.Param.PTR ? Kernel.Param.I64 : p).toList();
    }
}
