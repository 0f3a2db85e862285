package dev.tessera.core;

/**
 * Where a tensor's storage lives. The CPU is always there; a CUDA device exists only when a
 * backend for it was found through {@link java.util.ServiceLoader} (see {@link Backend}).
 *
 * @param kind  "cpu" or "cuda"
 * @param index device ordinal (0 for the CPU)
 */
public record Device(String kind, int index) {
    public static final Device CPU = new Device("cpu", 0);

    public static Device cuda(int index) {
        return new Device("cuda", index);
    }

    public boolean isCpu() {
        return kind.equals("cpu");
    }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String text) {
        if (text.equals("cpu")) {
            return CPU;
        }
        if (text.equals("cuda")) {
            return cuda(0);
        }
        if (text.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(text.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new TesseraException("device: expected cpu, cuda or cuda:N, got '" + text + "'");
    }

    @Override
    public String toString() {
        return isCpu() ? "cpu" : kind + ":" + index;
    }
}
