package dev.llmrt.agent.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** One entry per runner: which runner takes requests for a (model, mode), which may be evicted. */
class RunnerRegistryTest {
    private static final ActorTestKit testKit = ActorTestKit.create("RunnerRegistryTest");

    @AfterAll
    static void shutdown() {
        testKit.shutdownTestKit();
    }

    private static ActorRef<RunnerSupervisor.Command> ref() {
        return testKit.<RunnerSupervisor.Command>createTestProbe().getRef();
    }

    private static ModelSpec spec(String name, long keepAlive) {
        return new ModelSpec(name, "sim", name, BackendConfiguration.EMPTY, keepAlive);
    }

    private static RunnerStatus status(String id, RunnerStatus.Phase phase, int inFlight, long lastUsed, long keepAlive) {
        return new RunnerStatus(id, "sim", id, "completion", phase, 1, 0, null, inFlight, 0, lastUsed, keepAlive, 0, 0,
                "/s", List.of(), 0, -1);
    }

    @Test
    void oneRunnerPerModelAndModeTakesRequestsUntilItStops() {
        RunnerRegistry registry = new RunnerRegistry();
        ActorRef<RunnerSupervisor.Command> chat = ref();
        ActorRef<RunnerSupervisor.Command> embed = ref();
        registry.add(chat, "sim-1", spec("m", -1), BackendMode.COMPLETION, new RunnerLoad());
        registry.add(embed, "sim-2", spec("m", -1), BackendMode.EMBEDDING, new RunnerLoad());
        RunnerRegistry.Key chatKey = new RunnerRegistry.Key("m", BackendMode.COMPLETION);
        assertEquals(Optional.of(chat), registry.accepting(chatKey));
        assertEquals(Optional.of(embed), registry.accepting(new RunnerRegistry.Key("m", BackendMode.EMBEDDING)));

        assertTrue(registry.reported(chat, status("sim-1", RunnerStatus.Phase.STOPPING, 0, 0, -1)));
        assertEquals(Optional.empty(), registry.accepting(chatKey), "a stopping runner takes no requests");
        assertEquals(2, registry.all().size(), "but stays registered until its actor stops");
        registry.remove(chat);
        assertEquals(1, registry.all().size());
        assertFalse(registry.reported(chat, status("sim-1", RunnerStatus.Phase.READY, 0, 0, -1)), "a late report is ignored");
    }

    @Test
    void aNewRunnerForAKeyIsNotUnregisteredByTheOldOnesEnd() {
        RunnerRegistry registry = new RunnerRegistry();
        ActorRef<RunnerSupervisor.Command> old = ref();
        ActorRef<RunnerSupervisor.Command> fresh = ref();
        RunnerRegistry.Key key = new RunnerRegistry.Key("m", BackendMode.COMPLETION);
        registry.add(old, "sim-1", spec("m", 0), BackendMode.COMPLETION, new RunnerLoad());
        registry.stopAccepting(old);
        registry.add(fresh, "sim-2", spec("m", 0), BackendMode.COMPLETION, new RunnerLoad());
        registry.remove(old);
        assertEquals(Optional.of(fresh), registry.accepting(key));
    }

    @Test
    void evictableRunnersAreIdleAndMayUnloadLeastRecentlyUsedFirst() {
        RunnerRegistry registry = new RunnerRegistry();
        ActorRef<RunnerSupervisor.Command> recent = ref();
        ActorRef<RunnerSupervisor.Command> old = ref();
        ActorRef<RunnerSupervisor.Command> pinned = ref();
        ActorRef<RunnerSupervisor.Command> busy = ref();
        ActorRef<RunnerSupervisor.Command> starting = ref();
        registry.add(recent, "recent", spec("recent", 60_000), BackendMode.COMPLETION, new RunnerLoad());
        registry.add(old, "old", spec("old", 60_000), BackendMode.COMPLETION, new RunnerLoad());
        registry.add(pinned, "pinned", spec("pinned", -1), BackendMode.COMPLETION, new RunnerLoad());
        registry.add(busy, "busy", spec("busy", 60_000), BackendMode.COMPLETION, new RunnerLoad());
        registry.add(starting, "starting", spec("starting", 60_000), BackendMode.COMPLETION, new RunnerLoad());
        registry.reported(recent, status("recent", RunnerStatus.Phase.READY, 0, 2000, 60_000));
        registry.reported(old, status("old", RunnerStatus.Phase.READY, 0, 1000, 60_000));
        registry.reported(pinned, status("pinned", RunnerStatus.Phase.READY, 0, 0, -1));
        registry.reported(busy, status("busy", RunnerStatus.Phase.READY, 1, 0, 60_000));
        registry.reported(starting, status("starting", RunnerStatus.Phase.STARTING, 0, 0, 60_000));
        assertEquals(List.of("old", "recent"), registry.evictable().stream().map(RunnerRegistry.Entry::runnerId).toList());
        registry.stopAccepting(old);
        assertEquals(List.of("recent"), registry.evictable().stream().map(RunnerRegistry.Entry::runnerId).toList(),
                "a runner already being unloaded is not evicted twice");
    }
}
