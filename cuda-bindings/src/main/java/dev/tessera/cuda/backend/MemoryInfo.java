package dev.tessera.cuda.backend;

/**
 * Device memory as the driver reports it ({@code cuMemGetInfo}).
 *
 * @param freeBytes  bytes free on the device now (other processes and the cache included)
 * @param totalBytes bytes on the device
 */
public record MemoryInfo(long freeBytes, long totalBytes) {}
