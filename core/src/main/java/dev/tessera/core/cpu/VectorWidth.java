package dev.tessera.core.cpu;

import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shape every CPU kernel uses: the machine's preferred one, unless the system property
 * {@code tessera.vector.bits} names another (128, 256 or 512). Tests set it so that the kernels
 * of every width, and the scalar fallbacks of narrow ones, run on any machine; a shape wider than
 * the hardware's is emulated by the Vector API in software, correct but slow. Read once, when the
 * kernels' classes load, so the species stay constants the JIT compiles against.
 *
 * <pre>{@code
 * java -Dtessera.vector.bits=256 ...   // the AVX2 kernels, on an AVX-512 machine too
 * }</pre>
 */
public final class VectorWidth {
    /** The system property that overrides the preferred width, in bits. */
    public static final String PROPERTY = "tessera.vector.bits";
    /** The shape of every species the kernels use (float lanes here, int lanes in the 4-bit dequantizers). */
    public static final VectorShape SHAPE = shape(System.getProperty(PROPERTY, ""));
    static final VectorSpecies<Float> FLOATS = VectorSpecies.of(float.class, SHAPE);

    private VectorWidth() {}

    static VectorShape shape(String bits) {
        return switch (bits.strip()) {
            case "" -> VectorShape.preferredShape();
            case "128" -> VectorShape.S_128_BIT;
            case "256" -> VectorShape.S_256_BIT;
            case "512" -> VectorShape.S_512_BIT;
            default -> throw new IllegalArgumentException(
                    PROPERTY + " must be 128, 256 or 512 (or unset for the machine's preferred width), not '" + bits + "'");
        };
    }
}
