package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.runner.RunnerStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three nodes in one JVM, joined by seed nodes, with declared GPUs of different sizes: node A has
 * 2 x 24 GiB, node B 1 x 80 GiB, node C none. Sim models declare their VRAM; Cluster Sharding places
 * each with the GPU allocation strategy, and requests go through node C's gateway.
 */
class ClusterPlacementTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODELS = """
            pekko.cluster.sharding.rebalance-interval = 500ms
            llmrt.placement.unhosted-grace = 1s
            llmrt.models = [
              { name = "m70", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=71680"] }
              { name = "m20", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=20480"] }
              { name = "m8", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=8192"] }
              { name = "cpu", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=0", "--ram-mb=1024"] }
              { name = "m100", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=102400"] }
              { name = "rep", backend = sim, keep-alive = "-1", replicas = 2, runtime-flags = ["--vram-mb=2048"] }
            ]
            """;
    private static final InJvmCluster cluster = new InJvmCluster(MODELS);
    private static final List<LlmrtNode> nodes = cluster.nodes;
    private static final List<LlmrtNode.Started> started = cluster.started;
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static LlmrtNode.Started start(String gpus) throws Exception {
        return cluster.start("llmrt.agent.gpus = " + gpus);
    }

    @BeforeAll
    static void startCluster() throws Exception {
        start("[ { name = L4, memory = 24GiB, count = 2 } ]");
        start("[ { name = H100, memory = 80GiB } ]");
        start("[]");
        // every node sees every node's capacity before the first placement
        eventually(Duration.ofSeconds(30), "every node sees the capacity of all 3",
                () -> started.stream().allMatch(s -> s.capacity().nodes().size() == 3));
    }

    @AfterAll
    static void stopCluster() throws Exception {
        cluster.close();
    }

    private static HttpResponse<String> chat(LlmrtNode.Started via, String model) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + via.port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"" + model + "\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Which node (A=0, B=1, C=2) runs the model, and on which GPUs. */
    private static Map.Entry<Integer, List<Integer>> whereIs(String model) throws Exception {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).system().whenTerminated().isCompleted()) {
                continue;
            }
            NodeAgent.Runners runners = AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.get(i).agent(),
                    NodeAgent.ListRunners::new, Duration.ofSeconds(5), nodes.get(i).system().scheduler()).toCompletableFuture().get();
            for (RunnerStatus r : runners.runners()) {
                if (r.model().equals(model) && r.phase() != RunnerStatus.Phase.STOPPING) {
                    return Map.entry(i, r.gpus());
                }
            }
        }
        return null;
    }

    private static java.util.Set<Integer> nodesRunning(String model) throws Exception {
        java.util.Set<Integer> out = new java.util.TreeSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            NodeAgent.Runners runners = AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.get(i).agent(),
                    NodeAgent.ListRunners::new, Duration.ofSeconds(5), nodes.get(i).system().scheduler()).toCompletableFuture().get();
            if (runners.runners().stream().anyMatch(r -> r.model().equals(model))) {
                out.add(i);
            }
        }
        return out;
    }

    @Test
    void modelsLandWhereTheyFitAndMoveWhenTheirNodeLeaves() throws Exception {
        LlmrtNode.Started gatewayC = started.get(2);
        assertEquals(200, chat(gatewayC, "m70").statusCode());
        assertEquals(Map.entry(1, List.of(0)), whereIs("m70"), "70 GiB fits only the 80 GiB GPU of node B");
        assertEquals(200, chat(gatewayC, "m20").statusCode());
        assertEquals(1 - 1, whereIs("m20").getKey(), "20 GiB no longer fits B (10 GiB left): node A");
        assertEquals(200, chat(gatewayC, "m8").statusCode());
        assertEquals(Map.entry(1, List.of(0)), whereIs("m8"), "best fit: B's 10 GiB beats A's 24 GiB");
        assertEquals(200, chat(gatewayC, "cpu").statusCode());
        assertEquals(Map.entry(2, List.of()), whereIs("cpu"), "a model without VRAM goes to the node without GPUs");

        // two replicas: requests take them in turn, and they land on different nodes
        assertEquals(200, chat(gatewayC, "rep").statusCode());
        assertEquals(200, chat(gatewayC, "rep").statusCode());
        assertEquals(java.util.Set.of(0, 1), nodesRunning("rep"), "replica 1 on B's last 2 GiB, replica 2 next to m20 on A");

        HttpResponse<String> tooBig = chat(gatewayC, "m100");
        assertEquals(503, tooBig.statusCode());
        String message = JSON.readTree(tooBig.body()).at("/error/message").asText();
        String nodeA = Cluster.get(nodes.get(0).system()).selfMember().address().hostPort();
        assertEquals("model 'm100' doesn't fit on " + nodeA + ": needs 100.0 GiB VRAM; largest free: 24.0 GiB on "
                + nodeA + " GPU 1 (its backend can't split it across GPUs)", message);

        // a 3 MiB prompt crosses from node C's gateway to node B's runner (Artery's ordinary frame is 256 KiB)
        String prompt = "word ".repeat(600_000);
        HttpResponse<String> big = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayC.port()
                + "/v1/chat/completions")).timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"m70\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, big.statusCode(), big.body());
        assertEquals(600_000, JSON.readTree(big.body()).at("/usage/prompt_tokens").asInt());

        // the status API, from any gateway, shows every node and every runner with its estimate
        com.fasterxml.jackson.databind.JsonNode status = JSON.readTree(client.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gatewayC.port() + "/status")).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
        assertEquals(3, status.get("nodes").size());
        java.util.Map<String, Long> estimates = new java.util.TreeMap<>();
        status.get("runners").forEach(r -> estimates.put(r.get("model").asText(), r.get("vram_estimate_bytes").asLong()));
        assertEquals(java.util.Map.of("cpu", 0L, "m20", 20L << 30, "m70", 70L << 30, "m8", 8L << 30, "rep", 2L << 30), estimates);

        // node B leaves: its models are placed again on the nodes that remain, with no manual step
        long t0 = System.nanoTime();
        nodes.get(1).stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        eventually(Duration.ofSeconds(60), () -> assertEquals(200, chat(gatewayC, "m8").statusCode(), "m8 served again"));
        System.out.printf("m8 served again %d ms after node B began leaving%n", (System.nanoTime() - t0) / 1_000_000);
        assertEquals(Map.entry(0, List.of(1)), whereIs("m8"), "m8 moved to node A's free GPU");
        HttpResponse<String> m70 = chat(gatewayC, "m70");
        assertEquals(503, m70.statusCode(), "70 GiB fits nowhere now");

        // a node with room joins: the refused model's shard is released and placed there
        start("[ { name = H100, memory = 80GiB } ]");
        long t1 = System.nanoTime();
        eventually(Duration.ofSeconds(60), () -> assertEquals(200, chat(gatewayC, "m70").statusCode(), "m70 placed on the new node"));
        assertEquals(Map.entry(3, List.of(0)), whereIs("m70"), "m70 runs on the node that joined");
        System.out.printf("m70 placed on the joining node %d ms after it started%n", (System.nanoTime() - t1) / 1_000_000);
    }
}
