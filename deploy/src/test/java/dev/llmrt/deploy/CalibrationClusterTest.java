package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static dev.llmrt.testing.Eventually.eventuallyGet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.Backends;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.gpu.GpuKind;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.placement.OverheadCalibration;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.runtime.gguf.TinyLlamaModel;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RequiredMemory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Self-calibrating estimates across a cluster: three nodes in one JVM read their GPUs from
 * nvidia-smi, which is a script printing the H100 and H200 captures from shared/fixtures and, for
 * processes, what the test says the runners use. Node A runs a real llama-server whose measured use
 * exceeds its estimate by 100 MiB; the next estimate on an H100 includes that, on node A and on
 * node B, and not on node C's H200.
 */
class CalibrationClusterTest {
    private static final long MIB = 1024L * 1024L;
    private static final long OVER = 100 * MIB;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final GpuKind H100 = new GpuKind("NVIDIA H100 80GB HBM3", "580.159.04");
    private static final String H100_UUID = "GPU-a7596540-3571-3a63-4384-c9a50c98a66e";
    private static InJvmCluster cluster;
    private static List<LlmrtNode> nodes;
    private static List<LlmrtNode.Started> started;
    private static final List<Path> smiDirs = new ArrayList<>();
    private static Path dir;
    private static Path model;
    private static Config base;

    @BeforeAll
    static void startCluster() throws Exception {
        Optional<Path> binary = LlamaCppBackend.locate("");
        assertTrue(binary.isPresent() && Files.isExecutable(binary.get()), "llama-server not found: " + LlamaCppBackend.INSTALL_HINT);
        dir = Files.createTempDirectory("llmrt-calibration");
        model = dir.resolve("tiny.gguf");
        Files.write(model, TinyLlamaModel.generate(TinyLlamaModel.Shape.DEFAULT).toBytes());
        String common = """
                llmrt.agent.gpu-source = nvidia-smi
                llmrt.agent.inventory-refresh = 200ms
                llmrt.models = [
                  { name = "first", backend = "llama.cpp", model = "%1$s", context-size = 512, keep-alive = "-1", runtime-flags = ["-t", "1"] }
                  { name = "next", backend = "llama.cpp", model = "%1$s", context-size = 1024, keep-alive = "-1", runtime-flags = ["-t", "1"] }
                ]
                """.formatted(model);
        base = ConfigFactory.parseString(common).withFallback(ServeCommand.load(null, "127.0.0.1", 0, null));
        cluster = new InJvmCluster(common);
        nodes = cluster.nodes;
        started = cluster.started;
        start("a", "h100");
        start("b", "h100");
        start("c", "h200");
        eventually(Duration.ofSeconds(30), "every node sees the capacity of all 3",
                () -> started.stream().allMatch(s -> s.capacity().nodes().size() == 3));
    }

    /** A node whose nvidia-smi prints the {@code gpu} capture and the processes the test writes. */
    private static void start(String name, String gpu) throws Exception {
        Path smi = Files.createDirectories(dir.resolve(name));
        try (InputStream in = CalibrationClusterTest.class.getResourceAsStream("/fixtures/" + gpu + "/query-gpu.csv")) {
            Files.write(smi.resolve("query-gpu.csv"), in.readAllBytes());
        }
        Files.writeString(smi.resolve("apps.csv"), "");
        Path script = smi.resolve("nvidia-smi");
        Files.writeString(script, """
                #!/bin/sh
                here=$(dirname "$0")
                case "$1" in
                  --query-gpu=*) cat "$here/query-gpu.csv" ;;
                  --query-compute-apps=*) cat "$here/apps.csv" ;;
                  *) echo "unexpected: $*" >&2; exit 2 ;;
                esac
                """);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        smiDirs.add(smi);
        cluster.start("llmrt.agent.nvidia-smi = \"" + script + "\"");
    }

    @AfterAll
    static void stopCluster() throws Exception {
        cluster.close();
    }

    private static ModelSpec spec(String name) {
        return started.get(0).catalog().find(name).orElseThrow();
    }

    /** The estimate this build's llama.cpp backend makes for the model (the prior overhead in it). */
    private static RequiredMemory estimate(String name) throws Exception {
        LlamaCppBackend backend = (LlamaCppBackend) Backends.fromConfig(base).get(LlamaCppBackend.NAME);
        ModelSpec s = spec(name);
        return backend.requiredMemoryForModel(s.model(), s.config());
    }

    /** Asks node {@code i}'s agent to serve one chat of {@code model}; returns its runner's status. */
    private static RunnerStatus serve(int i, String model) throws Exception {
        var reply = AskPattern.<NodeAgent.Command, InferenceProtocol.Reply>ask(started.get(i).agent(),
                r -> new NodeAgent.Dispatch(spec(model), BackendMode.COMPLETION, new InferenceProtocol.Request(
                        "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}"
                        .getBytes(StandardCharsets.UTF_8), null), r),
                Duration.ofSeconds(60), nodes.get(i).system().scheduler()).toCompletableFuture().get();
        assertEquals(200, assertInstanceOf(InferenceProtocol.Completed.class, reply).status());
        return runners(i).stream().filter(r -> r.model().equals(model)).findFirst().orElseThrow();
    }

    private static List<RunnerStatus> runners(int i) throws Exception {
        return AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.get(i).agent(), NodeAgent.ListRunners::new,
                Duration.ofSeconds(5), nodes.get(i).system().scheduler()).toCompletableFuture().get().runners();
    }

    @Test
    void aMeasuredOverheadIsUsedForTheNextEstimateOnThatGpuKindAcrossTheCluster() throws Exception {
        RequiredMemory first = estimate("first");
        RequiredMemory next = estimate("next");
        assertTrue(next.vramWithoutOverhead() > first.vramWithoutOverhead(), "a larger context, a larger KV cache");

        // node A runs 'first'; nvidia-smi says its llama-server uses 100 MiB more than estimated
        RunnerStatus runner = serve(0, "first");
        assertEquals(first.vram(), runner.vramEstimate(), "nothing learned yet: the prior");
        long measuredMib = (first.vram() + OVER + MIB - 1) / MIB;
        Files.writeString(smiDirs.get(0).resolve("apps.csv"), H100_UUID + ", " + runner.pid() + ", llama-server, " + measuredMib + "\n");
        long expected = measuredMib * MIB - first.vramWithoutOverhead();

        OverheadCalibration.Learned learned = eventuallyGet(Duration.ofSeconds(10), "overhead learned on node A", () ->
                AskPattern.<NodeAgent.Command, NodeAgent.Capacity>ask(started.get(0).agent(), NodeAgent.GetCapacity::new,
                        Duration.ofSeconds(5), nodes.get(0).system().scheduler()).toCompletableFuture().get()
                        .overheads().stream().findFirst().orElse(null));
        assertEquals(new OverheadCalibration.Learned("llama.cpp", "completion", H100, expected, 1), learned);
        assertEquals(first.vramOverhead() + OVER, expected, MIB, "the prior plus what the header could not predict");
        eventually(Duration.ofSeconds(10), () -> assertEquals(measuredMib * MIB,
                runners(0).get(0).vramActual(), "the reservation follows the measurement"));

        // the next estimate on an H100 includes it: on node A, and on node B, which has measured nothing
        assertEquals(next.vramWithoutOverhead() + expected, serve(0, "next").vramEstimate(), "node A");
        eventually(Duration.ofSeconds(10), "node B hears what A learned",
                () -> started.get(1).capacity().overheads().contains(learned));
        assertEquals(next.vramWithoutOverhead() + expected, serve(1, "next").vramEstimate(), "node B, same GPU kind");
        // and not on another GPU kind: node C's H200 plans with the prior
        assertEquals(next.vram(), serve(2, "next").vramEstimate(), "node C's H200");

        // /status shows what was learned, per node
        HttpResponse<String> status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + started.get(2).port() + "/status")).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode nodeA = null;
        for (JsonNode n : JSON.readTree(status.body()).get("nodes")) {
            if (n.get("learned_overheads").size() > 0) {
                nodeA = n;
            }
        }
        assertTrue(nodeA != null, status.body());
        JsonNode l = nodeA.get("learned_overheads").get(0);
        assertEquals("NVIDIA H100 80GB HBM3", l.get("gpu").asText());
        assertEquals("580.159.04", l.get("driver").asText());
        assertEquals(expected, l.get("overhead_bytes").asLong());
        System.out.printf("learned on node A's H100: %.1f MiB (prior %.1f MiB); next estimate %.1f MiB on H100, %.1f MiB on H200%n",
                expected / (double) MIB, first.vramOverhead() / (double) MIB, (next.vramWithoutOverhead() + expected) / (double) MIB,
                next.vram() / (double) MIB);
    }
}
