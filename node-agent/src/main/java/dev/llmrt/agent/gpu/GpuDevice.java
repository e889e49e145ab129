package dev.llmrt.agent.gpu;

import dev.llmrt.agent.CborSerializable;

/**
 * One GPU as its node sees it, in bytes. {@code free} is what the driver reports free: memory
 * other processes use counts as used.
 */
public record GpuDevice(int index, String uuid, String name, long total, long used, long free) implements CborSerializable {}
