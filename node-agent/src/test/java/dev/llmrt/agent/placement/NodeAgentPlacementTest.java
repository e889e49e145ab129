package dev.llmrt.agent.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.agent.AgentSettings;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.gpu.GpuDevice;
import dev.llmrt.agent.gpu.GpuInventory;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.runtime.sim.SimBackend;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A node agent with two declared 24 GiB GPUs placing real sim runners that declare their VRAM. */
class NodeAgentPlacementTest {
    private static final long GIB = 1L << 30;
    private static final Config CONFIG = ConfigFactory.parseString("pekko.actor.serialize-messages = on")
            .withFallback(ConfigFactory.load());
    private static final ActorTestKit testKit = ActorTestKit.create("NodeAgentPlacementTest", CONFIG);
    private static final AgentSettings SETTINGS = AgentSettings.fromConfig(CONFIG);
    private static final byte[] CHAT = "{\"messages\":[],\"max_tokens\":1}".getBytes(StandardCharsets.UTF_8);
    private static final Map<String, Backend> SIM = Map.of("sim",
            new SimBackend(new ProcessRunner.Limits(Duration.ofSeconds(5), 4096), List.of("-XX:TieredStopAtLevel=1", "-Xmx64m")));
    private final List<ActorRef<NodeAgent.Command>> agents = new ArrayList<>();

    @AfterAll
    static void shutdown() {
        testKit.shutdownTestKit();
    }

    @AfterEach
    void stopRunners() {
        for (ActorRef<NodeAgent.Command> agent : agents) {
            TestProbe<NodeAgent.Done> done = testKit.createTestProbe();
            agent.tell(new NodeAgent.StopAll(done.getRef()));
            done.expectMessage(Duration.ofSeconds(30), NodeAgent.Done.INSTANCE);
        }
        assertEquals(List.of(), ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList());
    }

    private ActorRef<NodeAgent.Command> agent() {
        List<GpuDevice> gpus = List.of(new GpuDevice(0, "declared-0", "L4", 24 * GIB, 0, 24 * GIB),
                new GpuDevice(1, "declared-1", "L4", 24 * GIB, 0, 24 * GIB));
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create(SETTINGS,
                NodeAgent.Setup.local("node-a", SIM).withGpus(GpuInventory.declared(gpus), 64 * GIB)));
        agents.add(agent);
        return agent;
    }

    private static ModelSpec model(String name, int vramGib, long keepAlive) {
        return new ModelSpec(name, "sim", name, new BackendConfiguration(null,
                List.of("--vram-mb=" + vramGib * 1024, "--ram-mb=64"), null), keepAlive);
    }

    private static InferenceProtocol.Reply call(ActorRef<NodeAgent.Command> agent, ModelSpec spec) {
        TestProbe<InferenceProtocol.Reply> reply = testKit.createTestProbe();
        agent.tell(new NodeAgent.Dispatch(spec, BackendMode.COMPLETION,
                new InferenceProtocol.Request("/v1/chat/completions", CHAT, null), reply.getRef()));
        return reply.receiveMessage(Duration.ofSeconds(30));
    }

    private static List<RunnerStatus> runners(ActorRef<NodeAgent.Command> agent) {
        TestProbe<NodeAgent.Runners> probe = testKit.createTestProbe();
        agent.tell(new NodeAgent.ListRunners(probe.getRef()));
        return probe.receiveMessage().runners();
    }

    private static Map<Integer, Long> reserved(ActorRef<NodeAgent.Command> agent) {
        TestProbe<NodeAgent.Capacity> probe = testKit.createTestProbe();
        agent.tell(new NodeAgent.GetCapacity(probe.getRef()));
        return probe.receiveMessage().reservedPerGpu();
    }

    private static String environOf(long pid) throws Exception {
        return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/environ")), StandardCharsets.UTF_8).replace('\0', '\n');
    }

    @Test
    void modelsLandOnTheGpuThatFitsBestAndArePinnedToIt() throws Exception {
        ActorRef<NodeAgent.Command> agent = agent();
        assertEquals(200, ((InferenceProtocol.Completed) call(agent, model("a20", 20, -1))).status());
        assertEquals(200, ((InferenceProtocol.Completed) call(agent, model("b20", 20, -1))).status());
        assertEquals(200, ((InferenceProtocol.Completed) call(agent, model("c4", 4, -1))).status());
        assertEquals(Map.of(0, 24 * GIB, 1, 20 * GIB), reserved(agent),
                "a20 and b20 on separate GPUs; c4 in the 4 GiB gap next to a20, the best fit");
        for (RunnerStatus r : runners(agent)) {
            assertEquals(1, r.gpus().size());
            assertTrue(environOf(r.pid()).contains("CUDA_VISIBLE_DEVICES=" + r.gpus().get(0)), r.model() + " pinned");
        }
        InferenceProtocol.Failed refused = assertInstanceOf(InferenceProtocol.Failed.class, call(agent, model("d30", 30, -1)));
        assertEquals(InferenceProtocol.FailureKind.RUNNER_UNAVAILABLE, refused.kind());
        assertEquals("model 'd30' doesn't fit on node-a: needs 30.0 GiB VRAM; largest free: 4.0 GiB on node-a GPU 1 "
                + "(its backend can't split it across GPUs)", refused.message());
    }

    @Test
    void aStoppingNodeStartsNoRunnerForWorkThatArrivesLate() {
        ActorRef<NodeAgent.Command> agent = agent();
        assertEquals(200, ((InferenceProtocol.Completed) call(agent, model("early", 1, -1))).status());
        TestProbe<NodeAgent.Done> done = testKit.createTestProbe();
        agent.tell(new NodeAgent.StopAll(done.getRef()));
        // sharding still routes here after StopAll (its regions stop in a later shutdown phase)
        InferenceProtocol.Failed late = assertInstanceOf(InferenceProtocol.Failed.class, call(agent, model("late", 1, -1)));
        assertEquals("node node-a is shutting down", late.message());
        done.expectMessage(Duration.ofSeconds(30), NodeAgent.Done.INSTANCE);
        assertEquals(List.of(), runners(agent));
    }

    @Test
    void idleRunnersAreEvictedLeastRecentlyUsedFirstButNeverKeepAliveMinusOne() throws Exception {
        ActorRef<NodeAgent.Command> agent = agent();
        call(agent, model("pinned", 20, -1)); // GPU 0, never evicted
        call(agent, model("old", 20, 600_000)); // GPU 1
        call(agent, model("pinned", 20, -1)); // used again: 'old' is now the least recently used
        InferenceProtocol.Completed ok = assertInstanceOf(InferenceProtocol.Completed.class, call(agent, model("new", 10, 600_000)));
        assertEquals(200, ok.status());
        testKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            List<String> loaded = runners(agent).stream().map(RunnerStatus::model).sorted().toList();
            assertEquals(List.of("new", "pinned"), loaded, "the idle 'old' runner made room; 'pinned' stays");
            return null;
        });
        assertEquals(Map.of(0, 20 * GIB, 1, 10 * GIB), reserved(agent));
    }

    @Test
    void realUseFromNvidiaSmiReplacesTheEstimateInTheReservation() throws Exception {
        List<GpuDevice> gpus = List.of(new GpuDevice(0, "GPU-0", "H100", 80 * GIB, 0, 80 * GIB));
        java.util.concurrent.atomic.AtomicLong runnerPid = new java.util.concurrent.atomic.AtomicLong(-1);
        // what nvidia-smi would say: the runner's process uses 12 GiB on GPU-0, another process 5 GiB
        GpuInventory smi = new GpuInventory() {
            @Override
            public List<GpuDevice> devices() {
                return gpus;
            }

            @Override
            public List<dev.llmrt.agent.gpu.NvidiaSmi.GpuProcess> processes() {
                return List.of(new dev.llmrt.agent.gpu.NvidiaSmi.GpuProcess("GPU-0", runnerPid.get(), "sim", 12 * GIB),
                        new dev.llmrt.agent.gpu.NvidiaSmi.GpuProcess("GPU-0", 1, "other", 5 * GIB));
            }
        };
        AgentSettings fastRefresh = AgentSettings.fromConfig(ConfigFactory.parseString(
                "llmrt.agent.inventory-refresh = 100ms").withFallback(CONFIG));
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create(fastRefresh,
                NodeAgent.Setup.local("node-g", SIM).withGpus(smi, 64 * GIB)));
        agents.add(agent);
        call(agent, model("est20", 20, -1));
        runnerPid.set(runners(agent).get(0).pid());
        testKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            RunnerStatus s = runners(agent).get(0);
            assertEquals(20 * GIB, s.vramEstimate(), "the estimate");
            assertEquals(12 * GIB, s.vramActual(), "what it really uses, side by side");
            assertEquals(Map.of(0, 12 * GIB), reserved(agent), "the reservation follows the truth");
            return null;
        });
    }

    @Test
    void concurrentPlacementsNeverOvercommitAGpu() throws Exception {
        ActorRef<NodeAgent.Command> agent = agent();
        List<TestProbe<InferenceProtocol.Reply>> replies = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            TestProbe<InferenceProtocol.Reply> reply = testKit.createTestProbe();
            agent.tell(new NodeAgent.Dispatch(model("m" + i, 5, -1), BackendMode.COMPLETION,
                    new InferenceProtocol.Request("/v1/chat/completions", CHAT, null), reply.getRef()));
            replies.add(reply);
        }
        int placed = 0;
        for (TestProbe<InferenceProtocol.Reply> r : replies) {
            if (r.receiveMessage(Duration.ofSeconds(60)) instanceof InferenceProtocol.Completed) {
                placed++;
            }
        }
        assertEquals(8, placed, "4 x 5 GiB fit on each 24 GiB GPU, and no more");
        reserved(agent).values().forEach(bytes -> assertTrue(bytes <= 24 * GIB, "overcommitted: " + bytes));
    }
}
