package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A tensor large enough that quantization is split into several parallel chunks of blocks
 * (65,536 elements each) encodes exactly as its blocks quantized one at a time, tail block
 * included.
 */
class Quantized4BitChunksTest {
    @Test
    void aTensorOfSeveralChunksEncodesAsItsBlocksOneByOne() {
        int blocksize = 64;
        int n = 2 * 65_536 + 3 * blocksize + 10; // three chunks, the last one short, a 10-element tail block
        Random random = new Random(16);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) random.nextGaussian();
        }
        Quantized4Bit whole = Quantized4Bit.quantize(w, new long[] {n}, QuantType.NF4, blocksize, false);

        int blocks = (n + blocksize - 1) / blocksize;
        byte[] packed = new byte[(n + 1) / 2];
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            float[] block = Arrays.copyOfRange(w, b * blocksize, Math.min(n, (b + 1) * blocksize));
            Quantized4Bit one = Quantized4Bit.quantize(block, new long[] {block.length}, QuantType.NF4, blocksize, false);
            System.arraycopy(one.packed(), 0, packed, b * blocksize / 2, one.packed().length);
            absmax[b] = one.state().absmax()[0];
        }
        assertEquals(blocks, whole.state().absmax().length);
        assertArrayEquals(absmax, whole.state().absmax());
        assertArrayEquals(packed, whole.packed());
    }
}
