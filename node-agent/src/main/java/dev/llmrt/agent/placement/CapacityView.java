package dev.llmrt.agent.placement;

import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/** The latest capacity of every node, as replicated to this node; read by the allocation strategy. */
public final class CapacityView {
    private final AtomicReference<Map<String, NodeCapacity>> nodes = new AtomicReference<>(Map.of());

    public Map<String, NodeCapacity> nodes() {
        return nodes.get();
    }

    void update(Map<String, NodeCapacity> latest) {
        nodes.set(Map.copyOf(latest));
    }
}
