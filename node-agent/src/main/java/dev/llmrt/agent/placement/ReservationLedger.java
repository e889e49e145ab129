package dev.llmrt.agent.placement;

import dev.llmrt.agent.gpu.GpuDevice;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * The memory a node's runners hold: per runner, bytes on each GPU and RAM, reserved from the
 * estimate when it starts and replaced by what its processes really use once measured (truth over
 * estimates). Measured use is already counted as used in the driver's free figure, so it no longer
 * reduces the room twice. Pure: the node agent owns one and calls it from its actor only.
 */
public final class ReservationLedger {

    private record Held(Map<Integer, Long> perGpu, long ram, Map<Integer, Long> measured) {}

    private final Map<String, Held> byRunner = new HashMap<>();

    /** Reserves {@code perGpu} (GPU index to bytes) and {@code ram} for a runner that starts now. */
    public void reserve(String runnerId, Map<Integer, Long> perGpu, long ram) {
        byRunner.put(runnerId, new Held(Map.copyOf(perGpu), ram, Map.of()));
    }

    /** The runner is gone: what it held is free. */
    public void release(String runnerId) {
        byRunner.remove(runnerId);
    }

    /** Its processes use {@code perGpu} (nvidia-smi): that replaces its reservation. */
    public void measured(String runnerId, Map<Integer, Long> perGpu) {
        Held h = byRunner.get(runnerId);
        if (h != null && !perGpu.isEmpty()) {
            byRunner.put(runnerId, new Held(Map.copyOf(perGpu), h.ram(), Map.copyOf(perGpu)));
        }
    }

    /** Bytes its processes use over all its GPUs, when measured. */
    public OptionalLong measuredTotal(String runnerId) {
        Held h = byRunner.get(runnerId);
        return h == null || h.measured().isEmpty() ? OptionalLong.empty()
                : OptionalLong.of(h.measured().values().stream().mapToLong(Long::longValue).sum());
    }

    /** GPU index to the bytes this node's runners hold there. */
    public Map<Integer, Long> reservedPerGpu() {
        return held(byRunner.keySet());
    }

    /** GPU index to the bytes these runners hold there (what evicting them would free). */
    public Map<Integer, Long> held(Collection<String> runnerIds) {
        Map<Integer, Long> out = new TreeMap<>();
        for (String id : runnerIds) {
            Held h = byRunner.get(id);
            if (h != null) {
                h.perGpu().forEach((gpu, bytes) -> out.merge(gpu, bytes, Long::sum));
            }
        }
        return out;
    }

    public boolean holds(String runnerId) {
        return byRunner.containsKey(runnerId);
    }

    /**
     * This node's room: each GPU's free memory (the driver's figure) minus what is reserved and not yet
     * counted by the driver, and the RAM budget minus reservations; runners in {@code releasing} are
     * left out (their memory is about to be freed).
     */
    public PlacementPlanner.NodeView view(String node, long ramBudget, List<GpuDevice> devices, Collection<String> releasing) {
        List<PlacementPlanner.Device> room = new ArrayList<>();
        for (GpuDevice g : devices) {
            long reserved = 0;
            for (Map.Entry<String, Held> e : byRunner.entrySet()) {
                if (!releasing.contains(e.getKey())) {
                    Held h = e.getValue();
                    reserved += Math.max(0, h.perGpu().getOrDefault(g.index(), 0L) - h.measured().getOrDefault(g.index(), 0L));
                }
            }
            room.add(new PlacementPlanner.Device(g.index(), g.kind(), Math.max(0, g.free() - reserved)));
        }
        long ram = byRunner.entrySet().stream().filter(e -> !releasing.contains(e.getKey()))
                .mapToLong(e -> e.getValue().ram()).sum();
        return new PlacementPlanner.NodeView(node, Math.max(0, ramBudget - ram), room);
    }
}
