package dev.tessera.cuda.ffi;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A C function prototype parsed from text ("CUresult cuInit(unsigned int Flags)"), and the
 * FunctionDescriptor that the C types of the CUDA headers map to on Linux x86-64/aarch64.
 *
 * @param returnType C return type
 * @param name       function name
 * @param paramTypes C parameter types, without names
 */
record CPrototype(String returnType, String name, List<String> paramTypes) {
    private static final Pattern PROTO = Pattern.compile("^\\s*(.+?)\\s*\\b(\\w+)\\s*\\((.*)\\)\\s*;?\\s*$", Pattern.DOTALL);

    static CPrototype parse(String text) {
        Matcher m = PROTO.matcher(text.replaceAll("\\s+", " "));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a prototype: " + text);
        }
        List<String> params = new ArrayList<>();
        String list = m.group(3).trim();
        if (!list.isEmpty() && !list.equals("void")) {
            for (String p : list.split(",")) {
                p = p.trim();
                // drop the parameter name: the last identifier, unless the whole thing is a type
                Matcher named = Pattern.compile("^(.*?[\\s*])(\\w+)$").matcher(p);
                params.add(named.matches() ? named.group(1).trim() : p);
            }
        }
        return new CPrototype(m.group(1).replace("CUDAAPI", "").trim(), m.group(2), params);
    }

    /** The descriptor jextract would generate for this prototype. */
    FunctionDescriptor descriptor() {
        List<MemoryLayout> args = paramTypes.stream().map(CPrototype::layout).toList();
        Optional<MemoryLayout> ret = returnType.equals("void") ? Optional.empty() : Optional.of(layout(returnType));
        return ret.map(r -> FunctionDescriptor.of(r, args.toArray(MemoryLayout[]::new)))
                .orElseGet(() -> FunctionDescriptor.ofVoid(args.toArray(MemoryLayout[]::new)));
    }

    static MemoryLayout layout(String cType) {
        String t = cType.replace("const", " ").replaceAll("\\s+", " ").trim();
        if (t.contains("*")) {
            return ValueLayout.ADDRESS;
        }
        return switch (t) {
            case "CUresult", "int", "unsigned int", "CUdevice", "CUdevice_attribute", "cublasStatus_t",
                 "cublasOperation_t", "nvrtcResult" -> ValueLayout.JAVA_INT;
            case "size_t", "CUdeviceptr", "long long", "long long int", "unsigned long long" -> ValueLayout.JAVA_LONG;
            case "unsigned char" -> ValueLayout.JAVA_BYTE;
            case "float" -> ValueLayout.JAVA_FLOAT;
            case "CUcontext", "CUmodule", "CUfunction", "CUstream", "CUevent", "cudaStream_t", "cublasHandle_t", "nvrtcProgram" ->
                    ValueLayout.ADDRESS;
            default -> throw new IllegalArgumentException("no layout for C type '" + cType + "'");
        };
    }

    /** Layouts compared by kind and size only (jextract's C_POINTER carries a target layout). */
    static String shape(FunctionDescriptor d) {
        StringBuilder s = new StringBuilder();
        s.append(d.returnLayout().map(CPrototype::shape).orElse("void")).append(" (");
        for (MemoryLayout l : d.argumentLayouts()) {
            s.append(shape(l)).append(' ');
        }
        return s.append(')').toString();
    }

    private static String shape(MemoryLayout l) {
        if (l instanceof AddressLayout) {
            return "ptr";
        }
        return ((ValueLayout) l).carrier().getSimpleName() + l.byteSize();
    }
}
