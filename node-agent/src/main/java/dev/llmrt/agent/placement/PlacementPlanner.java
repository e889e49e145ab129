package dev.llmrt.agent.placement;

import dev.llmrt.agent.CborSerializable;
import dev.llmrt.agent.gpu.GpuKind;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Decides where a model replica goes, from a snapshot of what each node has available. Best fit:
 * the single GPU that leaves the least room; a model bigger than any GPU goes to the fewest GPUs of
 * one node when its backend can split it (each GPU pays the backend's per-process overhead, learned
 * per GPU kind); otherwise it is refused with what it needs and the largest free space. A model whose
 * need is unknown takes the roomiest GPU whole. Pure: callers serialize their decisions.
 */
public final class PlacementPlanner {
    private static final double GIB = 1024.0 * 1024.0 * 1024.0;

    /** A GPU's room: {@code available} = free now minus what is promised and not yet allocated. */
    public record Device(int index, GpuKind kind, long available) implements CborSerializable {}

    public record NodeView(String node, long ramAvailable, List<Device> devices) {}

    /**
     * What a backend's process costs on each GPU it runs on besides its buffers: what was measured on
     * that kind of GPU where known, else the backend's configured prior.
     */
    public record Overhead(long prior, Map<GpuKind, Long> learned) {
        public static final Overhead NONE = new Overhead(0, Map.of());

        public Overhead {
            learned = Map.copyOf(learned);
        }

        public long on(GpuKind kind) {
            return prior == 0 ? 0 : learned.getOrDefault(kind, prior); // a backend with no overhead learns none
        }
    }

    /**
     * What a replica needs: {@code vram} that its files predict, plus {@code overhead} on each GPU it
     * runs on. {@code unknown}: its need couldn't be estimated (the reason is logged where it was
     * found), so it takes a whole GPU.
     */
    public record Demand(long vram, long ram, boolean splittable, Overhead overhead, boolean unknown) {
        public Demand(long vram, long ram, boolean splittable, Overhead overhead) {
            this(vram, ram, splittable, overhead, false);
        }

        public static Demand unknown(long ram) {
            return new Demand(0, ram, false, Overhead.NONE, true);
        }

        /** Runs on the CPU: nothing on any GPU. */
        public boolean cpuOnly() {
            return !unknown && vram <= 0 && overhead.prior() == 0;
        }

        /** What it needs on one GPU of this kind. */
        public long on(GpuKind kind) {
            return vram + overhead.on(kind);
        }

        /** What it needs when split over these GPUs: each pays the overhead. */
        long on(List<Device> devices) {
            return vram + devices.stream().mapToLong(g -> overhead.on(g.kind())).sum();
        }
    }

    public sealed interface Decision permits Placed, Refused {}

    /** Where it goes: a node, its GPUs and the bytes reserved on each (empty for a CPU-only model). */
    public record Placed(String node, List<Integer> devices, List<Long> perDevice) implements Decision {}

    public record Refused(String reason) implements Decision {}

    private PlacementPlanner() {}

    public static Decision place(List<NodeView> nodes, Demand d) {
        if (d.unknown()) {
            return wholeGpu(nodes, d);
        }
        if (d.cpuOnly()) {
            // a CPU model prefers a node without GPUs (their RAM feeds their GPU models), then the most free RAM
            return nodes.stream().filter(n -> n.ramAvailable() >= d.ram())
                    .min(Comparator.<NodeView>comparingInt(n -> n.devices().isEmpty() ? 0 : 1)
                            .thenComparing(Comparator.comparingLong(NodeView::ramAvailable).reversed()))
                    .<Decision>map(n -> new Placed(n.node(), List.of(), List.of()))
                    .orElseGet(() -> new Refused("needs " + gib(d.ram()) + " RAM; largest free: "
                            + nodes.stream().mapToLong(NodeView::ramAvailable).max().stream()
                            .mapToObj(PlacementPlanner::gib).findFirst().orElse("none (no nodes)")));
        }
        // best fit on one GPU
        Placed best = null;
        long bestLeft = Long.MAX_VALUE;
        for (NodeView n : nodes) {
            if (n.ramAvailable() < d.ram()) {
                continue;
            }
            for (Device g : n.devices()) {
                long need = d.on(g.kind());
                long left = g.available() - need;
                if (left >= 0 && left < bestLeft) {
                    bestLeft = left;
                    best = new Placed(n.node(), List.of(g.index()), List.of(need));
                }
            }
        }
        if (best != null) {
            return best;
        }
        if (d.splittable()) {
            Placed split = null;
            int bestCount = Integer.MAX_VALUE;
            long bestSplitLeft = Long.MAX_VALUE;
            for (NodeView n : nodes) {
                if (n.ramAvailable() < d.ram()) {
                    continue;
                }
                List<Device> byRoom = n.devices().stream().filter(g -> g.available() > 0)
                        .sorted(Comparator.comparingLong(Device::available).reversed()).toList();
                long sum = 0;
                for (int k = 1; k <= byRoom.size(); k++) {
                    sum += byRoom.get(k - 1).available();
                    long need = d.on(byRoom.subList(0, k));
                    if (sum >= need) {
                        long left = sum - need;
                        if (k < bestCount || (k == bestCount && left < bestSplitLeft)) {
                            bestCount = k;
                            bestSplitLeft = left;
                            split = proportional(n.node(), byRoom.subList(0, k), need, sum);
                        }
                        break;
                    }
                }
            }
            if (split != null) {
                return split;
            }
        }
        return new Refused(refusal(nodes, d));
    }

    /** The GPU with the most room, all of it: for a model whose need is unknown. */
    private static Decision wholeGpu(List<NodeView> nodes, Demand d) {
        NodeView where = null;
        Device roomiest = null;
        for (NodeView n : nodes) {
            for (Device g : n.devices()) {
                if (n.ramAvailable() >= d.ram() && g.available() > 0
                        && (roomiest == null || g.available() > roomiest.available())) {
                    roomiest = g;
                    where = n;
                }
            }
        }
        return roomiest == null
                ? new Refused("its memory need is unknown, so it needs a whole GPU; no GPU has room")
                : new Placed(where.node(), List.of(roomiest.index()), List.of(roomiest.available()));
    }

    /** Shares in proportion to each GPU's room (llama.cpp's --tensor-split does the same). */
    private static Placed proportional(String node, List<Device> devices, long need, long sum) {
        List<Integer> idx = new ArrayList<>();
        List<Long> shares = new ArrayList<>();
        long given = 0;
        for (int i = 0; i < devices.size(); i++) {
            Device g = devices.get(i);
            long share = i == devices.size() - 1 ? need - given
                    : (long) Math.ceil((double) need * g.available() / sum);
            share = Math.min(share, g.available());
            given += share;
            idx.add(g.index());
            shares.add(share);
        }
        return new Placed(node, idx, shares);
    }

    private static String refusal(List<NodeView> nodes, Demand d) {
        long oneGpu = nodes.stream().flatMap(n -> n.devices().stream()).mapToLong(g -> d.on(g.kind())).max()
                .orElse(d.vram() + d.overhead().prior());
        String need = "needs " + gib(oneGpu) + " VRAM";
        NodeView where = null;
        Device largest = null;
        for (NodeView n : nodes) {
            for (Device g : n.devices()) {
                if (largest == null || g.available() > largest.available()) {
                    largest = g;
                    where = n;
                }
            }
        }
        if (largest == null) {
            return need + "; no node in the cluster has a GPU";
        }
        return need + "; largest free: " + gib(largest.available()) + " on " + where.node() + " GPU " + largest.index()
                + (d.splittable() ? "" : " (its backend can't split it across GPUs)");
    }

    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / GIB);
    }
}
