package dev.llmrt.gateway;

import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.placement.NodeCapacity;
import dev.llmrt.gateway.routing.ReplicaRouter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** What the status routes show: every node's capacity and runners, and each backend's state. */
public interface StatusSource {
    Map<String, NodeCapacity> capacity();

    /** Every node's runners; a node that doesn't answer in time is left out. */
    CompletionStage<List<NodeAgent.Runners>> runners();

    /** Backend name to its status string (model-runner's {@code /engines/status}). */
    Map<String, String> backends();

    /**
     * Unloads the matching idle runners on every node (model-runner's {@code POST /engines/unload});
     * answers how many were told to stop.
     */
    default CompletionStage<Integer> unload(boolean all, String backend, List<String> models) {
        return CompletableFuture.completedFuture(0);
    }

    /**
     * model-runner's {@code /engines/df} for the cluster: bytes of catalog model files summed over the
     * nodes that hold them, and of the default backend's binary summed over the agent nodes.
     */
    default CompletionStage<NodeAgent.DiskUsed> diskUsage() {
        return CompletableFuture.completedFuture(new NodeAgent.DiskUsed(0, 0));
    }

    /** How this gateway spreads each model's requests over its replicas. */
    default List<ReplicaRouter.LaneStatus> routing() {
        return List.of();
    }
}
