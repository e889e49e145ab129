package dev.llmrt.agent.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.agent.gpu.GpuDevice;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The node's reservations: room per GPU from the driver's free memory, estimates, and measurements. */
class ReservationLedgerTest {
    private static final long GIB = 1L << 30;
    private static final List<GpuDevice> TWO_L4 = List.of(new GpuDevice(0, "GPU-0", "L4", 24 * GIB, 0, 24 * GIB),
            new GpuDevice(1, "GPU-1", "L4", 24 * GIB, 0, 24 * GIB));

    private static Map<Integer, Long> room(PlacementPlanner.NodeView v) {
        return Map.of(0, v.devices().get(0).available(), 1, v.devices().get(1).available());
    }

    @Test
    void reservationsReduceTheRoomAndReleasingGivesItBack() {
        ReservationLedger ledger = new ReservationLedger();
        ledger.reserve("a", Map.of(0, 20 * GIB), 4 * GIB);
        ledger.reserve("b", Map.of(0, 2 * GIB, 1, 10 * GIB), GIB);
        PlacementPlanner.NodeView v = ledger.view("n", 64 * GIB, TWO_L4, Set.of());
        assertEquals(Map.of(0, 2 * GIB, 1, 14 * GIB), room(v));
        assertEquals(59 * GIB, v.ramAvailable());
        assertEquals(Map.of(0, 22 * GIB, 1, 10 * GIB), ledger.reservedPerGpu());
        assertEquals(Map.of(0, 2 * GIB, 1, 10 * GIB), ledger.held(List.of("b")), "what evicting b would free");
        assertEquals(Map.of(0, 4 * GIB, 1, 24 * GIB), room(ledger.view("n", 64 * GIB, TWO_L4, Set.of("b"))),
                "b about to be released");
        ledger.release("a");
        assertFalse(ledger.holds("a"));
        assertEquals(Map.of(0, 22 * GIB, 1, 14 * GIB), room(ledger.view("n", 64 * GIB, TWO_L4, Set.of())));
    }

    @Test
    void aMeasurementReplacesTheEstimateAndIsNotCountedTwice() {
        ReservationLedger ledger = new ReservationLedger();
        ledger.reserve("a", Map.of(0, 20 * GIB), 0);
        assertEquals(OptionalLong.empty(), ledger.measuredTotal("a"));
        ledger.measured("a", Map.of(0, 12 * GIB));
        assertEquals(OptionalLong.of(12 * GIB), ledger.measuredTotal("a"));
        assertEquals(Map.of(0, 12 * GIB), ledger.reservedPerGpu(), "the truth replaces the estimate");
        // the driver now counts the 12 GiB as used: free is 12 GiB, and none of it is reserved again
        List<GpuDevice> driver = List.of(new GpuDevice(0, "GPU-0", "L4", 24 * GIB, 12 * GIB, 12 * GIB),
                new GpuDevice(1, "GPU-1", "L4", 24 * GIB, 0, 24 * GIB));
        assertEquals(Map.of(0, 12 * GIB, 1, 24 * GIB), room(ledger.view("n", 0, driver, Set.of())));
        ledger.measured("gone", Map.of(0, GIB));
        assertFalse(ledger.holds("gone"), "a measurement of a runner not reserved for is ignored");
        assertTrue(ledger.holds("a"));
    }

    @Test
    void roomNeverGoesBelowZero() {
        ReservationLedger ledger = new ReservationLedger();
        ledger.reserve("a", Map.of(0, 30 * GIB), 100 * GIB);
        PlacementPlanner.NodeView v = ledger.view("n", 64 * GIB, TWO_L4, Set.of());
        assertEquals(0, v.devices().get(0).available());
        assertEquals(0, v.ramAvailable());
    }
}
