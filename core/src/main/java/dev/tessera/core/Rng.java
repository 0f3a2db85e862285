package dev.tessera.core;

/**
 * Seeded random numbers for initialisation and dropout. The same seed gives the same numbers on
 * every run and platform: 64-bit values come from SplitMix64 (the algorithm behind
 * {@code java.util.SplittableRandom}), whose whole state is one counter, so saving and restoring
 * a stream is O(1); normals come from Box–Muller over them.
 *
 * <pre>{@code
 * Rng rng = new Rng(42);
 * Tensor w = rng.kaimingUniform(768, 3072);   // [out, in], U(-1/sqrt(in), 1/sqrt(in))
 * }</pre>
 */
public final class Rng {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private long seed;
    private long counter;

    public Rng(long seed) {
        this.seed = seed;
        this.counter = seed;
    }

    /** The state needed to continue this stream exactly: {seed, counter}. */
    public long[] state() {
        return new long[] {seed, counter};
    }

    /** Continues exactly where the generator that produced {@code state} was. */
    public void setState(long[] state) {
        if (state.length != 2) {
            throw new TesseraException("Rng state must be {seed, counter}, got " + state.length + " values");
        }
        this.seed = state[0];
        this.counter = state[1];
    }

    public long nextLong() {
        long z = (counter += GOLDEN_GAMMA);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 24 random bits, like a float. */
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1.0p-24f;
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Standard normal (Box–Muller, one value per call). */
    public double nextGaussian() {
        double u1 = nextDouble();
        double u2 = nextDouble();
        return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Uniform in [low, high). */
    public Tensor uniform(float low, float high, int... shape) {
        float[] data = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < data.length; i++) {
            data[i] = low + (high - low) * nextFloat();
        }
        return Tensor.of(data, shape);
    }

    /** Normal with the given mean and standard deviation. */
    public Tensor normal(float mean, float std, int... shape) {
        float[] data = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (mean + std * nextGaussian());
        }
        return Tensor.of(data, shape);
    }

    /** Standard normal. */
    public Tensor randn(int... shape) {
        return normal(0f, 1f, shape);
    }

    /**
     * PyTorch's default Linear init, kaiming_uniform(a = sqrt(5)), for a weight [out, in]:
     * U(-1/sqrt(in), 1/sqrt(in)).
     */
    public Tensor kaimingUniform(int out, int in) {
        float bound = (float) (1 / Math.sqrt(in));
        return uniform(-bound, bound, out, in);
    }

    /** Integers uniform in [0, bound) as I64. */
    public Tensor randint(long bound, int... shape) {
        long[] data = new long[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < data.length; i++) {
            data[i] = Math.floorMod(nextLong(), bound);
        }
        return Tensor.ofLongs(data, shape);
    }

    /** Inverted-dropout mask: 0 with probability p, else 1/(1-p). */
    Tensor dropoutMask(int[] shape, float p, Device device) {
        float keep = 1f / (1f - p);
        float[] data = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < data.length; i++) {
            data[i] = nextFloat() < p ? 0f : keep;
        }
        return Tensor.of(data, shape).to(device);
    }
}
