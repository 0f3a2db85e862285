package dev.tessera.core.cpu;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The measurement every kernel benchmark shares (JMH annotations are inherited): average time per
 * call after 5 one-second warm-up iterations (C2 has compiled the Vector API kernels by then), 5
 * measured ones, in one forked JVM with the flags the engine runs with.
 */
@BenchmarkMode(Mode.AverageTime)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public abstract class KernelBenchmark {}
