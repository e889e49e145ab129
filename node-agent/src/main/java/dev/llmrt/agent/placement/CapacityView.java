package dev.llmrt.agent.placement;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The latest capacity of every live node, as replicated to this node; read by the allocation
 * strategy and the status API. Entries of nodes that left stay in the replicated map, so they are
 * filtered by the current membership on every read.
 */
public final class CapacityView {
    private final AtomicReference<Map<String, NodeCapacity>> nodes = new AtomicReference<>(Map.of());
    private final Supplier<Set<String>> liveNodes;

    /** A view without membership (one node, tests): every entry counts. */
    public CapacityView() {
        this(null);
    }

    /** @param liveNodes the nodes (address host:port) currently members of the cluster */
    public CapacityView(Supplier<Set<String>> liveNodes) {
        this.liveNodes = liveNodes;
    }

    public Map<String, NodeCapacity> nodes() {
        Map<String, NodeCapacity> all = nodes.get();
        if (liveNodes == null) {
            return all;
        }
        Set<String> live = liveNodes.get();
        Map<String, NodeCapacity> out = new HashMap<>();
        all.forEach((node, c) -> {
            if (live.contains(node)) {
                out.put(node, c);
            }
        });
        return out;
    }

    /**
     * Every overhead any node has measured, nodes that left included: what was learned on a kind of
     * GPU stays true after the node that learned it is gone.
     */
    public List<OverheadCalibration.Learned> overheads() {
        return nodes.get().values().stream().flatMap(c -> c.overheads().stream()).toList();
    }

    public void update(Map<String, NodeCapacity> latest) {
        nodes.set(Map.copyOf(latest));
    }
}
