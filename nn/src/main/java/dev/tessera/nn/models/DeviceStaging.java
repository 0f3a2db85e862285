package dev.tessera.nn.models;

import dev.tessera.core.Autograd;
import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.io.WeightFolderReader;

/**
 * Checkpoint tensors loaded straight to a device: each is read with file reads into one reusable
 * host buffer (as large as the largest tensor of the checkpoint), copied to the device, and
 * converted there to the width it is kept at. The host never holds more than that one buffer, so
 * a model larger than the host's free memory loads onto a device with room for it.
 */
final class DeviceStaging implements AutoCloseable {
    private final WeightFolderReader weights;
    private final Device device;
    private final Backend backend;
    private static final int ROW = 4096;
    private Tensor buffer;   // U8 [rows, ROW] on the host, unowned; made on first use

    DeviceStaging(WeightFolderReader weights, Device device) {
        this.weights = weights;
        this.device = device;
        this.backend = Backends.of(device);
    }

    /** The stored tensor {@code key} on the device as {@code want} (unowned, a parameter to be). */
    Tensor load(String key, DType want) {
        DType stored = DType.valueOf(weights.dtypeName(key));
        int[] shape = weights.shape(key);
        long bytes = weights.byteSize(key);
        if (buffer == null) {
            long largest = weights.names().stream().mapToLong(weights::byteSize).max().orElse(0);
            int rows = (int) Math.max(1, (largest + ROW - 1) / ROW);   // rows of ROW bytes: no int overflow past 2 GiB
            buffer = Scope.unowned(() -> Tensor.empty(DType.U8, Device.CPU, rows, ROW));
        }
        Tensor host = Tensor.wrap(stored, shape, buffer.dataSegment().asSlice(0, bytes));
        weights.readInto(key, host.dataSegment());
        try (var ng = Autograd.noGrad()) {
            Tensor there = Scope.unowned(() -> Tensor.empty(stored, device, shape));
            backend.copy(host, there);
            backend.synchronize();   // the copy has read the buffer: the next tensor may overwrite it
            if (stored == want) {
                return there;
            }
            Tensor cast = Scope.unowned(() -> there.cast(want));
            there.release();
            return cast;
        }
    }

    /** Frees the host buffer. */
    @Override
    public void close() {
        if (buffer != null) {
            buffer.release();
            buffer = null;
        }
    }
}
