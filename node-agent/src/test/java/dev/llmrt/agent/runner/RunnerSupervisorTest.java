package dev.llmrt.agent.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.agent.AgentSettings;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.store.LocalFiles;
import dev.llmrt.runtime.sim.SimBackend;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A RunnerSupervisor around real sim processes: start, ready, crash and restart, keep-alive, reaping. */
class RunnerSupervisorTest {
    private static final Config CONFIG = ConfigFactory.parseString("""
            pekko.actor.serialize-messages = on
            llmrt.agent.restart-backoff { min = 300ms, max = 5s }
            llmrt.agent.readiness.timeout = 2s
            """).withFallback(ConfigFactory.load());
    private static final ActorTestKit testKit = ActorTestKit.create("RunnerSupervisorTest", CONFIG);
    private static final AgentSettings SETTINGS = AgentSettings.fromConfig(CONFIG);
    private static final SimBackend SIM = new SimBackend(new ProcessRunner.Limits(Duration.ofSeconds(5), 4096), List.of("-XX:TieredStopAtLevel=1", "-Xmx64m"));
    private static final AtomicInteger ids = new AtomicInteger();
    private static final byte[] CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}"
            .getBytes(StandardCharsets.UTF_8);

    @BeforeAll
    static void checkSocketDir() {
        assertTrue(Files.isDirectory(SETTINGS.socketDir()));
    }

    @AfterAll
    static void shutdown() {
        testKit.shutdownTestKit();
    }

    @AfterEach
    void noOrphanProcesses() {
        // every test stops its runners: none of our sim processes may outlive them
        testKit.createTestProbe().awaitAssert(Duration.ofSeconds(15), () -> {
            List<ProcessHandle> children = ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList();
            assertEquals(List.of(), children, "orphaned child processes");
            return null;
        });
    }

    private record Runner(ActorRef<RunnerSupervisor.Command> ref, TestProbe<RunnerStatus> statuses) {}

    private Runner spawn(long keepAliveMillis, String... flags) {
        int n = ids.incrementAndGet();
        ModelSpec spec = new ModelSpec("test/m" + n, "sim", "m" + n,
                new BackendConfiguration(null, List.of(flags), null), keepAliveMillis);
        TestProbe<RunnerStatus> statuses = testKit.createTestProbe();
        ActorRef<RunnerSupervisor.Command> ref = testKit.spawn(RunnerSupervisor.create("sim-t" + n, spec,
                BackendMode.COMPLETION, SIM, SETTINGS.socketDir().resolve("t" + n + ".sock"), SETTINGS,
                LocalFiles.asConfigured(List::of), dev.llmrt.agent.state.RunnerRecords.NONE, (runner, status) -> statuses.getRef().tell(status), RunnerSupervisor.Placement.CPU, new RunnerLoad()));
        return new Runner(ref, statuses);
    }

    private static RunnerStatus awaitPhase(Runner r, RunnerStatus.Phase phase) {
        return r.statuses().fishForMessage(Duration.ofSeconds(30), s -> s.phase() == phase
                ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore()).get(0);
    }

    private static InferenceProtocol.Reply chat(Runner r) {
        TestProbe<InferenceProtocol.Reply> reply = testKit.createTestProbe();
        r.ref().tell(new RunnerSupervisor.Dispatch(new InferenceProtocol.Request("/v1/chat/completions", CHAT, null),
                reply.getRef()));
        return reply.receiveMessage(Duration.ofSeconds(30));
    }

    private static void unload(Runner r) {
        TestProbe<Object> watcher = testKit.createTestProbe();
        r.ref().tell(RunnerSupervisor.Unload.INSTANCE);
        watcher.expectTerminated(r.ref(), Duration.ofSeconds(20));
    }

    @Test
    void startsTheProcessBecomesReadyAndServes() {
        Runner r = spawn(-1, "--load-time-ms=200");
        RunnerStatus starting = awaitPhase(r, RunnerStatus.Phase.STARTING);
        assertEquals("sim", starting.backend());
        RunnerStatus ready = awaitPhase(r, RunnerStatus.Phase.READY);
        assertTrue(ready.pid() > 0);
        assertTrue(ProcessHandle.of(ready.pid()).map(ProcessHandle::isAlive).orElse(false));
        assertTrue(ready.readyAt() - ready.startedAt() >= 200, "ready only after the load time");

        InferenceProtocol.Completed reply = assertInstanceOf(InferenceProtocol.Completed.class, chat(r));
        assertEquals(200, reply.status());
        assertTrue(new String(reply.body(), StandardCharsets.UTF_8).contains("\"content\":\"the quick \""));
        unload(r);
        assertFalse(ProcessHandle.of(ready.pid()).map(ProcessHandle::isAlive).orElse(false), "unload reaps the process");
    }

    @Test
    void requestsSentWhileStartingWaitForReadiness() {
        Runner r = spawn(-1, "--load-time-ms=500");
        InferenceProtocol.Completed reply = assertInstanceOf(InferenceProtocol.Completed.class, chat(r));
        assertEquals(200, reply.status());
        unload(r);
    }

    @Test
    void aCrashedRunnerIsRestartedAfterTheMinimumBackoffEachTimeItHadBecomeReady() {
        Runner r = spawn(-1, "--exit-after=1");
        long firstPid = awaitPhase(r, RunnerStatus.Phase.READY).pid();
        assertEquals(200, ((InferenceProtocol.Completed) chat(r)).status());

        // the second request kills the process mid-request: the client sees a backend failure
        InferenceProtocol.Failed failed = assertInstanceOf(InferenceProtocol.Failed.class, chat(r));
        assertEquals(InferenceProtocol.FailureKind.BACKEND_FAILED, failed.kind());
        RunnerStatus backoff = awaitPhase(r, RunnerStatus.Phase.BACKOFF);
        long firstExit = System.nanoTime();
        assertEquals(1, backoff.restarts());
        assertTrue(backoff.lastError().contains("injected fault"), backoff.lastError());

        RunnerStatus restarted = awaitPhase(r, RunnerStatus.Phase.READY);
        long firstDelayMs = (System.nanoTime() - firstExit) / 1_000_000;
        assertNotEquals(firstPid, restarted.pid());
        assertTrue(firstDelayMs >= 300, "restart waited the minimum backoff, waited " + firstDelayMs + " ms");
        assertFalse(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive).orElse(false));

        // it serves again, then crashes again: the restart count grows, the delay does not
        assertEquals(200, ((InferenceProtocol.Completed) chat(r)).status());
        chat(r);
        awaitPhase(r, RunnerStatus.Phase.BACKOFF);
        long secondExit = System.nanoTime();
        RunnerStatus again = awaitPhase(r, RunnerStatus.Phase.STARTING);
        long secondDelayMs = (System.nanoTime() - secondExit) / 1_000_000;
        assertEquals(2, again.restarts());
        // the first ready reset the failure count, so this is again the minimum; a start failure doubles it
        assertTrue(secondDelayMs >= 300, "waited " + secondDelayMs + " ms");
        unload(r);
    }

    @Test
    void startFailuresAreReportedWithTheBackendReasonAndBackOffExponentially() {
        Runner r = spawn(-1, "--fail-at-start=CUDA error: out of memory");
        InferenceProtocol.Failed failed = assertInstanceOf(InferenceProtocol.Failed.class, chat(r));
        assertEquals(InferenceProtocol.FailureKind.RUNNER_UNAVAILABLE, failed.kind());
        assertTrue(failed.message().contains("CUDA error: out of memory"), failed.message());

        awaitPhase(r, RunnerStatus.Phase.FAILED);
        long t1 = System.nanoTime();
        awaitPhase(r, RunnerStatus.Phase.STARTING);
        long d1 = (System.nanoTime() - t1) / 1_000_000;
        awaitPhase(r, RunnerStatus.Phase.FAILED);
        long t2 = System.nanoTime();
        RunnerStatus third = awaitPhase(r, RunnerStatus.Phase.STARTING);
        long d2 = (System.nanoTime() - t2) / 1_000_000;
        assertTrue(d1 >= 300, "first delay " + d1 + " ms");
        assertTrue(d2 >= 600, "second delay doubles: " + d2 + " ms");
        assertTrue(third.restarts() >= 2);
        unload(r);
    }

    @Test
    void aRunnerThatNeverBecomesHealthyTimesOutWithAReason() {
        Runner r = spawn(-1, "--hang");
        InferenceProtocol.Failed failed = assertInstanceOf(InferenceProtocol.Failed.class, chat(r));
        assertTrue(failed.message().contains("did not become ready within"), failed.message());
        assertTrue(failed.message().contains("HTTP 503"), failed.message());
        unload(r);
    }

    @Test
    void anIdleRunnerIsUnloadedAfterItsKeepAlive() {
        Runner r = spawn(400);
        long pid = awaitPhase(r, RunnerStatus.Phase.READY).pid();
        chat(r);
        long afterRequest = System.nanoTime();
        TestProbe<Object> watcher = testKit.createTestProbe();
        watcher.expectTerminated(r.ref(), Duration.ofSeconds(15));
        long idleMs = (System.nanoTime() - afterRequest) / 1_000_000;
        assertTrue(idleMs >= 400, "stayed loaded for its keep-alive, unloaded after " + idleMs + " ms");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }

    @Test
    void keepAliveZeroUnloadsRightAfterTheLastRequest() {
        Runner r = spawn(0);
        assertEquals(200, ((InferenceProtocol.Completed) chat(r)).status());
        testKit.createTestProbe().expectTerminated(r.ref(), Duration.ofSeconds(15));
    }

    @Test
    void stoppingTheActorReapsTheProcess() {
        Runner r = spawn(-1);
        long pid = awaitPhase(r, RunnerStatus.Phase.READY).pid();
        testKit.stop(r.ref(), Duration.ofSeconds(10));
        testKit.createTestProbe().awaitAssert(Duration.ofSeconds(15), () -> {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            return null;
        });
    }
}
