package dev.tessera.core;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of expensive ops, so tests can prove work is skipped (e.g. no weight-gradient GEMM for a frozen weight). */
public final class OpStats {
    static final AtomicLong GEMM_CALLS = new AtomicLong();

    private OpStats() {}

    /** Matrix products issued since start (forward and backward). */
    public static long gemmCalls() {
        return GEMM_CALLS.get();
    }
}
