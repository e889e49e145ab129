package dev.llmrt.agent.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.gpu.GpuKind;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;

/** The strategy's choice of node, from published capacity, without a cluster. */
class GpuAllocationStrategyTest {
    private static final long GIB = 1L << 30;

    private static NodeCapacity node(String name, long freeGib, List<String> hosted, List<String> files) {
        return new NodeCapacity(name, 64 * GIB, List.of(new PlacementPlanner.Device(0, GpuKind.named("GPU"), freeGib * GIB)), hosted,
                Map.of(), files, List.of(), name, Map.of(), Map.of(), Map.of());
    }

    private static GpuAllocationStrategy strategy(CapacityView view, long needGib) {
        return new GpuAllocationStrategy(view, shard -> new PlacementPlanner.Demand(needGib * GIB, GIB, false,
                PlacementPlanner.Overhead.NONE), new Address("pekko", "llmrt"), PlacementSettings.fromConfig(ConfigFactory.load()));
    }

    @Test
    void prefersANodeThatHoldsTheModelFileThenBestFit() {
        CapacityView view = new CapacityView();
        view.update(Map.of("a", node("a", 20, List.of(), List.of()), "b", node("b", 40, List.of(), List.of("llama"))));
        assertEquals("b", strategy(view, 16).chooseNode("llama", Set.of("a", "b")), "b has the file, though a fits better");
        assertEquals("a", strategy(view, 16).chooseNode("qwen", Set.of("a", "b")), "no file anywhere: best fit");
    }

    @Test
    void promisesKeepTwoPlacementsInARowFromCountingTheSameRoom() {
        CapacityView view = new CapacityView();
        view.update(Map.of("a", node("a", 24, List.of(), List.of()), "b", node("b", 30, List.of(), List.of())));
        GpuAllocationStrategy s = strategy(view, 20);
        assertEquals("a", s.chooseNode("m1", Set.of("a", "b")));
        assertEquals("b", s.chooseNode("m2", Set.of("a", "b")), "a's room is promised to m1 until a reports it");
    }

    @Test
    void replicasSpreadAndNothingKnownMeansTheRequesterDecides() {
        CapacityView view = new CapacityView();
        view.update(Map.of("a", node("a", 24, List.of("rep"), List.of()), "b", node("b", 80, List.of(), List.of())));
        assertEquals("b", strategy(view, 4).chooseNode("rep#1", Set.of("a", "b")), "a runs the first replica already");
        assertNull(strategy(new CapacityView(), 4).chooseNode("m", Set.of("a")));
    }
}
