package dev.llmrt.agent.gpu;

import dev.llmrt.agent.CborSerializable;

/**
 * One GPU as its node sees it, in bytes. {@code free} is what the driver reports free: memory
 * other processes use counts as used.
 *
 * @param driver the driver version (nvidia-smi's {@code driver_version}); empty when unknown
 */
public record GpuDevice(int index, String uuid, String name, long total, long used, long free, String driver)
        implements CborSerializable {

    public GpuDevice {
        driver = driver == null ? "" : driver;
    }

    /** A GPU whose driver is unknown (declared GPUs, tests). */
    public GpuDevice(int index, String uuid, String name, long total, long used, long free) {
        this(index, uuid, name, total, used, free, "");
    }

    public GpuKind kind() {
        return new GpuKind(name, driver);
    }
}
