package dev.llmrt.agent.gpu;

import dev.llmrt.agent.CborSerializable;

/**
 * A kind of GPU as far as memory goes: its model and driver version. What a process costs on a GPU
 * besides its buffers (the CUDA context, the driver's share) is the same on every GPU of one kind,
 * so it is learned per kind.
 */
public record GpuKind(String model, String driver) implements CborSerializable {
    public GpuKind {
        driver = driver == null ? "" : driver;
    }

    /** A kind known by its model alone (declared GPUs, tests). */
    public static GpuKind named(String model) {
        return new GpuKind(model, "");
    }

    @Override
    public String toString() {
        return driver.isEmpty() ? model : model + " (driver " + driver + ")";
    }
}
