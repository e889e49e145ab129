package dev.llmrt.runtime.spi;

/**
 * Working memory a model needs once loaded (Go: {@code RequiredMemory}), in bytes.
 *
 * @param vramOverhead the part of {@code vram} that the model's files can't predict: what the
 *                     backend's process costs on a GPU besides its buffers (CUDA context, driver,
 *                     workspaces), paid on each GPU it runs on. It is a configured prior; a node agent
 *                     replaces it with what it measured on the same kind of GPU.
 */
public record RequiredMemory(long ram, long vram, long vramOverhead) {
    public RequiredMemory {
        if (ram < 0 || vram < 0 || vramOverhead < 0 || vramOverhead > vram) {
            throw new IllegalArgumentException("required memory must be 0 <= overhead <= vram and ram >= 0: ram=" + ram
                    + " vram=" + vram + " overhead=" + vramOverhead);
        }
    }

    /** An estimate with no per-GPU overhead in it (everything follows from the model's files). */
    public RequiredMemory(long ram, long vram) {
        this(ram, vram, 0);
    }

    /** What the model's files predict: the VRAM without the per-GPU overhead. */
    public long vramWithoutOverhead() {
        return vram - vramOverhead;
    }
}
