package dev.tessera.core;

import java.util.Optional;

/**
 * How a device backend is found: implementations are listed in
 * {@code META-INF/services/dev.tessera.core.BackendProvider} and loaded with
 * {@link java.util.ServiceLoader}. A provider whose device is unusable (no driver, no GPU)
 * returns an empty backend with a reason from {@link #unavailableReason()}.
 */
public interface BackendProvider {
    /** The device kind this provider serves, e.g. "cuda". */
    String kind();

    /** The backend for device {@code index}, if the device is usable. */
    Optional<Backend> backend(int index);

    /** Why {@link #backend} is empty, for error messages. */
    String unavailableReason();
}
