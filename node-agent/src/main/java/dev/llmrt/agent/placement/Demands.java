package dev.llmrt.agent.placement;

import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.GgufParseException;
import dev.llmrt.runtime.spi.RequiredMemory;
import java.util.Optional;

/** What a model needs, from its backend's {@code requiredMemoryForModel}; empty when unknown. */
public final class Demands {
    private Demands() {}

    public static Optional<PlacementPlanner.Demand> of(ModelSpec spec, Backend backend, long perGpuOverhead) {
        // llama.cpp splits layers across GPUs; vLLM splits tensors (tensor parallel)
        boolean splittable = backend.name().equals("llama.cpp") || backend.name().equals("vllm");
        try {
            RequiredMemory m = backend.requiredMemoryForModel(spec.model(), spec.config());
            return Optional.of(new PlacementPlanner.Demand(m.vram(), m.ram(), splittable, perGpuOverhead));
        } catch (GgufParseException | BackendException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
