package dev.llmrt.agent.placement;

import dev.llmrt.agent.ReplicatedMap;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * Shares every node's {@link NodeCapacity} through Distributed Data (a map keyed by node), so that
 * the allocation strategy, wherever the shard coordinator runs, and the status API see the same
 * numbers, and a node's loss loses nothing but that node's entry.
 */
public final class CapacityRegistry {
    public static final Key<LWWMap<String, NodeCapacity>> KEY = LWWMapKey.create("llmrt-capacity");

    private CapacityRegistry() {}

    /** Keeps {@code view} current with every node's latest capacity. */
    public static Behavior<ReplicatedMap.Command<NodeCapacity>> create(CapacityView view) {
        return ReplicatedMap.create(KEY, view::update);
    }

    /** A listener for the node agent: publishes through the registry. */
    public static Consumer<NodeCapacity> publisher(ActorRef<ReplicatedMap.Command<NodeCapacity>> registry) {
        return c -> registry.tell(new ReplicatedMap.Put<>(c.node(), c));
    }
}
