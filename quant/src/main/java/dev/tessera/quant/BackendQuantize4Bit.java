package dev.tessera.quant;

import dev.tessera.core.Autograd;
import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * 4-bit quantization on the weight's own device, through {@code Backend.quantize4bit} (and, for
 * double quantization, {@code quantize8bit} of the centred block scales): the same bytes as
 * {@link Quantized4Bit#quantize}, without the weight ever leaving the device. Only the block
 * statistics (one float per block) come back to the host, for the {@link QuantState}.
 */
final class BackendQuantize4Bit {
    private BackendQuantize4Bit() {}

    /**
     * The packed codes on the weight's device (U8 {@code [(n + 1) / 2]}, unowned: a layer's
     * parameter, or released by {@link #toHost}) and their state on the host.
     */
    record Result(Tensor packed, QuantState state) {
        /** Codes and state on the host, as {@link Quantized4Bit#quantize} returns them; releases the device codes. */
        Quantized4Bit toHost() {
            try {
                return new Quantized4Bit(packed.to(Device.CPU).dataSegment().toArray(ValueLayout.JAVA_BYTE), state);
            } finally {
                packed.release();
            }
        }
    }

    /** Quantizes the contiguous F32 {@code weight} (of {@code shape}, on any device) in blocks of {@code blocksize}. */
    static Result quantize(Tensor weight, long[] shape, QuantType type, int blocksize, boolean doubleQuant) {
        QuantState.checkBlocksize(blocksize);
        long n = StoredTensor.numel(shape);
        if (weight.dtype() != DType.F32 || !weight.isContiguous() || weight.numel() != n || n == 0 || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("4-bit quantize: expected a contiguous F32 weight of shape "
                    + Arrays.toString(shape) + ", got " + weight.dtype() + " " + Arrays.toString(weight.shape()));
        }
        Device device = weight.device();
        Backend backend = Backends.of(device);
        int blocks = (int) ((n + blocksize - 1) / blocksize);
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {   // every temporary freed here
            Tensor code = Tensor.of(type.code(), 16).to(device);
            Tensor packed = Scope.unowned(() -> Tensor.empty(DType.U8, device, (int) ((n + 1) / 2)));
            Tensor absmax = Tensor.empty(DType.F32, device, blocks);
            Tensor mean = doubleQuant ? Tensor.empty(DType.F32, device, 1) : null;
            try {
                backend.quantize4bit(weight.reshape(-1), code, type == QuantType.FP4, blocksize, packed, absmax, mean);
                return new Result(packed, doubleQuant ? doubleQuantized(backend, type, blocksize, shape, absmax, mean)
                        : new QuantState(type, blocksize, shape.clone(), "float32", type.code(), absmax.toFloatArray(), null));
            } catch (RuntimeException | Error e) {
                packed.release();
                throw e;
            }
        }
    }

    /** {@code QuantState.DoubleQuant.of} on the device: the block scales minus their mean, in 8-bit blocks of 256. */
    private static QuantState doubleQuantized(Backend backend, QuantType type, int blocksize, long[] shape, Tensor absmax,
                                              Tensor mean) {
        Device device = absmax.device();
        int blocks = (int) absmax.numel();
        float[] map = DynamicMap.signed();
        Tensor codes = Tensor.empty(DType.U8, device, blocks);
        Tensor nested = Tensor.empty(DType.F32, device, Blockwise8Bit.blocks(blocks, 256));
        backend.quantize8bit(absmax.sub(mean), Tensor.of(map, 256).to(device), 256, codes, nested);
        QuantState.DoubleQuant dq = new QuantState.DoubleQuant(
                codes.to(Device.CPU).dataSegment().toArray(ValueLayout.JAVA_BYTE), nested.toFloatArray(), map, 256,
                mean.toFloatArray()[0], "float32");
        return new QuantState(type, blocksize, shape.clone(), "float32", type.code(), null, dq);
    }
}
