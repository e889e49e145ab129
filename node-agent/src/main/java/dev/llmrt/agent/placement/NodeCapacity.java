package dev.llmrt.agent.placement;

import dev.llmrt.agent.CborSerializable;
import java.util.List;
import java.util.Map;

/**
 * What a node publishes for placement, cluster-wide: its GPUs' room after its own reservations,
 * the RAM left for models, the models it runs, what idle runners hold per GPU (evictable), the
 * catalog models whose files it already holds (no download or copy needed), the per-GPU
 * overheads it has measured (so other nodes with the same kind of GPU plan with them), and, for
 * gateways choosing between replicas, its cluster address and each model's requests queued in its
 * runners (waiting while a runner loads or restarts); and what each hosted model holds per GPU (so
 * placement can see what moving it elsewhere would free); and its backends' status (model-runner's
 * strings, {@code Running: ...}, {@code Not Installed: ...}), so any gateway reports the cluster's.
 */
public record NodeCapacity(String node, long ramAvailable, List<PlacementPlanner.Device> gpus, List<String> hosted,
                           Map<Integer, Long> evictablePerGpu, List<String> modelFiles,
                           List<OverheadCalibration.Learned> overheads, String address, Map<String, Integer> queued,
                           Map<String, Map<Integer, Long>> held, Map<String, String> backends) implements CborSerializable {

    public NodeCapacity {
        modelFiles = modelFiles == null ? List.of() : List.copyOf(modelFiles);
        overheads = overheads == null ? List.of() : List.copyOf(overheads);
        queued = queued == null ? Map.of() : Map.copyOf(queued);
        held = held == null ? Map.of() : Map.copyOf(held);
        backends = backends == null ? Map.of() : Map.copyOf(backends);
    }

    public PlacementPlanner.NodeView view(boolean withEvictable) {
        List<PlacementPlanner.Device> room = gpus.stream().map(g -> withEvictable
                ? new PlacementPlanner.Device(g.index(), g.kind(), g.available() + evictablePerGpu.getOrDefault(g.index(), 0L))
                : g).toList();
        return new PlacementPlanner.NodeView(node, ramAvailable, room);
    }
}
