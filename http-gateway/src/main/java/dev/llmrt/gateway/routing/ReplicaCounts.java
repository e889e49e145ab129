package dev.llmrt.gateway.routing;

import dev.llmrt.agent.ReplicatedMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;

/**
 * How many replicas of each elastic model are in use, agreed by every gateway of the cluster
 * through Distributed Data (model to count): a gateway that finds a model overloaded or a replica
 * idle puts a new count, and every gateway's lanes follow it.
 */
final class ReplicaCounts {
    static final Key<LWWMap<String, Integer>> KEY = LWWMapKey.create("llmrt-active-replicas");

    private ReplicaCounts() {}

    /** @param changed hears every model's count whenever one changes */
    static Behavior<ReplicatedMap.Command<Integer>> create(Consumer<Map<String, Integer>> changed) {
        return ReplicatedMap.create(KEY, changed);
    }
}
