package dev.llmrt.agent.placement;

import dev.llmrt.agent.gpu.GpuKind;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.store.LocalFiles;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.GgufParseException;
import dev.llmrt.runtime.spi.RequiredMemory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each model needs, from its backend's {@code requiredMemoryForModel}, estimated once per model
 * (the estimate reads the model's header) and shared by a node's agent and its allocation strategy.
 * The per-GPU overhead in the estimate is a prior: the demand carries what was learned per GPU kind.
 * A model whose estimate fails is unknown, not zero: its reason is logged once, and it takes a whole
 * GPU.
 */
public final class Demands {
    private static final Logger log = LoggerFactory.getLogger(Demands.class);

    /** The backend's estimate, or why there is none. */
    public record Estimate(RequiredMemory memory, String unknownReason) {}

    private final Map<String, Backend> backends;
    private final LocalFiles files;
    private final Map<ModelSpec, Estimate> estimates = new ConcurrentHashMap<>();

    public Demands(Map<String, Backend> backends) {
        this(backends, LocalFiles.asConfigured(List::of));
    }

    /** @param files where the models' headers are read from (a pulled model's file may not be here yet) */
    public Demands(Map<String, Backend> backends, LocalFiles files) {
        this.backends = Map.copyOf(backends);
        this.files = files;
    }

    public Estimate estimate(ModelSpec spec) {
        Estimate known = estimates.get(spec);
        if (known != null) {
            return known;
        }
        try {
            Estimate now = estimateNow(spec, files.forEstimate(spec.model()));
            estimates.putIfAbsent(spec, now);
            return now;
        } catch (LocalFiles.Unavailable e) {
            // not cached: the header may be reachable next time
            log.warn("memory requirement of model '{}' is unknown for now: {}", spec.name(), e.getMessage());
            return new Estimate(null, e.getMessage());
        }
    }

    private Estimate estimateNow(ModelSpec spec, String file) {
        Backend backend = backends.get(spec.backend());
        String reason;
        if (backend == null) {
            reason = "backend '" + spec.backend() + "' is not available";
        } else {
            try {
                return new Estimate(backend.requiredMemoryForModel(file, spec.config()), null);
            } catch (GgufParseException | BackendException e) {
                reason = e.getMessage();
            } catch (RuntimeException e) {
                reason = e.toString();
            }
        }
        log.warn("memory requirement of model '{}' is unknown, so it will take a whole GPU: {}", spec.name(), reason);
        return new Estimate(null, reason);
    }

    /**
     * What {@code spec} needs on a node with GPUs, its overhead per GPU kind taken from {@code learned}
     * where measured.
     */
    public PlacementPlanner.Demand onGpus(ModelSpec spec, Map<GpuKind, Long> learned) {
        RequiredMemory m = estimate(spec).memory();
        if (m == null) {
            return PlacementPlanner.Demand.unknown(0);
        }
        // llama.cpp splits layers across GPUs; vLLM splits tensors (tensor parallel)
        boolean splittable = spec.backend().equals("llama.cpp") || spec.backend().equals("vllm");
        return new PlacementPlanner.Demand(m.vramWithoutOverhead(), m.ram(), splittable,
                new PlacementPlanner.Overhead(m.vramOverhead(), learned));
    }

    /** What {@code spec} needs on a node without GPUs: it runs from RAM. */
    public PlacementPlanner.Demand onCpu(ModelSpec spec) {
        RequiredMemory m = estimate(spec).memory();
        long ram = m == null ? 0 : m.ram() + m.vramWithoutOverhead();
        return new PlacementPlanner.Demand(0, ram, false, PlacementPlanner.Overhead.NONE);
    }
}
