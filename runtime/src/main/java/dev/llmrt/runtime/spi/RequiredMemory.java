package dev.llmrt.runtime.spi;

/** Working memory a model needs once loaded (Go: {@code RequiredMemory}), in bytes. */
public record RequiredMemory(long ram, long vram) {
    public RequiredMemory {
        if (ram < 0 || vram < 0) {
            throw new IllegalArgumentException("required memory can't be negative: ram=" + ram + " vram=" + vram);
        }
    }
}
