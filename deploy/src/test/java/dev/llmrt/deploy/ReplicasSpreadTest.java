package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;

/**
 * Replicas are real: a model with two replicas served while only one agent is up runs two runners
 * there (each its own process and GPU room, not one counted twice), and once a second agent joins,
 * one replica moves to it (drained first), ending with one runner on each node.
 */
class ReplicasSpreadTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"pair\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    /** The pair's runners that aren't stopping: node and pid of each. */
    private static List<String> runners(String base) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode r : JSON.readTree(TestHttp.send(base, "GET", "/status", null).body()).path("runners")) {
            if (r.path("model").asText().equals("pair") && !r.path("state").asText().equals("stopping")) {
                out.add(r.path("node").asText() + " pid " + r.path("pid").asLong());
            }
        }
        return out;
    }

    private static void load(String base) throws Exception {
        List<CompletableFuture<Integer>> sent = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            sent.add(TestHttp.CLIENT.sendAsync(TestHttp.request(base, "POST", "/v1/chat/completions", CHAT).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).thenApply(java.net.http.HttpResponse::statusCode));
        }
        for (CompletableFuture<Integer> f : sent) {
            assertEquals(200, f.get(120, TimeUnit.SECONDS));
        }
    }

    @Test
    void twoReplicasOnOneNodeAreTwoRunnersAndSpreadWhenASecondAgentJoins() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("""
                pekko.cluster.sharding.rebalance-interval = 500ms
                llmrt.models = [ { name = "pair", backend = sim, keep-alive = "-1", replicas = 2,
                  runtime-flags = ["--vram-mb=2048", "--ttft-ms=50", "--max-tokens=2"] } ]
                """)) {
            String base = TestHttp.local(cluster.start("llmrt.agent.gpus = [ { name = L4, memory = 24GiB } ]").port());
            String nodeA = Cluster.get(cluster.nodes.get(0).system()).selfMember().address().hostPort();
            eventually(Duration.ofSeconds(60), () -> {
                load(base);
                List<String> r = runners(base);
                assertEquals(2, r.size(), "both replicas run, on the only agent: " + r);
                assertEquals(2, new HashSet<>(r).size(), "two processes, not one counted twice: " + r);
            });
            runners(base).forEach(r -> assertEquals(nodeA, r.substring(0, r.indexOf(' '))));

            long t0 = System.nanoTime();
            cluster.start("pekko.cluster.roles = [agent]\nllmrt.agent.gpus = [ { name = L4, memory = 24GiB } ]");
            eventually(Duration.ofSeconds(90), () -> {
                load(base);
                List<String> r = runners(base);
                Set<String> nodes = new HashSet<>();
                r.forEach(x -> nodes.add(x.substring(0, x.indexOf(' '))));
                assertEquals(2, r.size(), "one runner per replica: " + r);
                assertEquals(2, nodes.size(), "one replica on each node: " + r);
            });
            System.out.printf("replicas: the second replica ran on the joining agent %d ms after it started%n",
                    (System.nanoTime() - t0) / 1_000_000);
            load(base);
        }
    }
}
