package dev.llmrt.agent.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.agent.gpu.GpuKind;
import dev.llmrt.agent.placement.PlacementPlanner.Demand;
import dev.llmrt.agent.placement.PlacementPlanner.Overhead;
import dev.llmrt.agent.placement.PlacementPlanner.Device;
import dev.llmrt.agent.placement.PlacementPlanner.NodeView;
import dev.llmrt.agent.placement.PlacementPlanner.Placed;
import dev.llmrt.agent.placement.PlacementPlanner.Refused;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PlacementPlannerTest {
    private static final long GIB = 1L << 30;
    private static final GpuKind L4 = GpuKind.named("L4");
    private static final GpuKind H100 = GpuKind.named("H100");

    /** The cluster: node-a 2 x 24 GiB, node-b 1 x 80 GiB, node-c no GPU. */
    private static List<NodeView> cluster(long[] available) {
        return List.of(
                new NodeView("node-a", 64 * GIB, List.of(new Device(0, L4, available[0]), new Device(1, L4, available[1]))),
                new NodeView("node-b", 64 * GIB, List.of(new Device(0, H100, available[2]))),
                new NodeView("node-c", 32 * GIB, List.of()));
    }

    /** {@code gib} on one GPU, of which 0.6 GiB is the per-GPU overhead (each further GPU pays it again). */
    private static Demand gpu(double gib, boolean splittable) {
        long overhead = (long) (0.6 * GIB);
        return new Demand((long) (gib * GIB) - overhead, GIB, splittable, new Overhead(overhead, Map.of()));
    }

    private static Demand cpu(long ramGib) {
        return new Demand(0, ramGib * GIB, false, Overhead.NONE);
    }

    @Test
    void eachModelGoesWhereItFitsBest() {
        long[] free = {24 * GIB, 24 * GIB, 80 * GIB};
        assertEquals(new Placed("node-a", List.of(0), List.of(20 * GIB)), PlacementPlanner.place(cluster(free), gpu(20, false)));
        assertEquals("node-b", ((Placed) PlacementPlanner.place(cluster(free), gpu(30, false))).node());
        assertEquals("node-c", ((Placed) PlacementPlanner.place(cluster(free), cpu(8))).node(),
                "a CPU model prefers the node without GPUs");
    }

    @Test
    void aCpuModelGoesToAGpuNodeWhenOnlyItHasTheRam() {
        long[] free = {24 * GIB, 24 * GIB, 80 * GIB};
        assertEquals("node-a", ((Placed) PlacementPlanner.place(cluster(free), cpu(40))).node());
        Refused r = assertInstanceOf(Refused.class, PlacementPlanner.place(cluster(free), cpu(100)));
        assertEquals("needs 100.0 GiB RAM; largest free: 64.0 GiB", r.reason());
    }

    @Test
    void aModelBiggerThanAnyGpuIsSplitOrRefusedWithWhereTheRoomIs() {
        long[] free = {24 * GIB, 24 * GIB, (long) (18 * GIB)};
        Placed split = assertInstanceOf(Placed.class, PlacementPlanner.place(cluster(free), gpu(40, true)));
        assertEquals("node-a", split.node());
        assertEquals(List.of(0, 1), split.devices());
        assertEquals((long) (40.6 * GIB), split.perDevice().stream().mapToLong(Long::longValue).sum(), GIB / 1000,
                "the second GPU pays its own CUDA context");
        Refused r = assertInstanceOf(Refused.class, PlacementPlanner.place(cluster(free), gpu(40, false)));
        assertEquals("needs 40.0 GiB VRAM; largest free: 24.0 GiB on node-a GPU 0 (its backend can't split it across GPUs)",
                r.reason());
        Refused tooBig = assertInstanceOf(Refused.class, PlacementPlanner.place(cluster(free), gpu(100, true)));
        assertTrue(tooBig.reason().startsWith("needs 100.0 GiB VRAM; largest free: 24.0 GiB on node-a GPU 0"), tooBig.reason());
    }

    @Test
    void onlinePlacementPacksAtLeast90PercentOfOfflineFirstFitDecreasing() {
        Random rnd = new Random(2026);
        double worst = Double.MAX_VALUE;
        double sum = 0;
        for (int trial = 0; trial < 20; trial++) {
            List<Long> sizes = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                sizes.add((long) ((0.5 + rnd.nextDouble() * 29.5) * GIB));
            }
            long[] free = {24 * GIB, 24 * GIB, 80 * GIB};
            long online = 0;
            for (long s : sizes) {
                if (PlacementPlanner.place(cluster(free), new Demand(s, 0, false, Overhead.NONE)) instanceof Placed p) {
                    int device = p.node().equals("node-b") ? 2 : p.devices().get(0);
                    free[device] -= s;
                    assertTrue(free[device] >= 0, "overcommitted");
                    online += s;
                }
            }
            long[] ffdFree = {24 * GIB, 24 * GIB, 80 * GIB};
            long ffd = 0;
            List<Long> sorted = new ArrayList<>(sizes);
            sorted.sort((a, b) -> Long.compare(b, a));
            for (long s : sorted) {
                for (int d = 0; d < ffdFree.length; d++) {
                    if (ffdFree[d] >= s) {
                        ffdFree[d] -= s;
                        ffd += s;
                        break;
                    }
                }
            }
            double ratio = (double) online / ffd;
            worst = Math.min(worst, ratio);
            sum += ratio;
            assertTrue(ratio >= 0.9, "trial " + trial + ": online packed " + ratio + " of FFD " + Arrays.toString(free));
            if (trial == 0) {
                System.out.printf("packing: online best fit %.1f GiB vs offline FFD %.1f GiB (ratio %.3f)%n",
                        online / (double) GIB, ffd / (double) GIB, ratio);
            }
        }
        System.out.printf("packing over 20 trials of 200 requests: mean ratio %.3f, worst %.3f%n", sum / 20, worst);
    }
}
