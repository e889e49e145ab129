package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A loaded replica moves to make room: node A's 24 GiB GPU runs a 16 GiB model, so a 20 GiB model
 * fits nowhere. Node B joins with a 16 GiB GPU, too small for the 20 GiB model but big enough for the
 * 16 GiB one: the 16 GiB replica moves to B (its runner on A drains and unloads), and the 20 GiB model
 * is then placed on A.
 */
class MoveOnJoinTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final InJvmCluster cluster = new InJvmCluster("""
            pekko.cluster.sharding.rebalance-interval = 500ms
            llmrt.placement.unhosted-grace = 1s
            llmrt.models = [
              { name = "m16", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=16384"] }
              { name = "m20", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=20480"] }
            ]
            """);
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static int gatewayPort;

    @BeforeAll
    static void start() throws Exception {
        cluster.start("pekko.cluster.roles = [agent]\nllmrt.agent.gpus = [ { name = L4, memory = 24GiB } ]");
        gatewayPort = cluster.start("pekko.cluster.roles = [gateway]\nllmrt.agent.gpus = []").port();
        eventually(Duration.ofSeconds(30), "the gateway sees node A's capacity",
                () -> cluster.started.get(1).capacity().nodes().size() == 1);
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    private static int chat(String model) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"" + model + "\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    /** Model to the node its (not stopping) runner is on, from the gateway's /status. */
    private static Map<String, String> where() throws Exception {
        JsonNode status = JSON.readTree(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort
                + "/status")).build(), HttpResponse.BodyHandlers.ofString()).body());
        Map<String, String> out = new TreeMap<>();
        for (JsonNode r : status.get("runners")) {
            if (!r.get("state").asText().equals("stopping")) {
                out.put(r.get("model").asText(), r.get("node").asText());
            }
        }
        return out;
    }

    @Test
    void aLoadedReplicaMovesToAJoiningNodeToMakeRoomForAModelThatFitsNowhere() throws Exception {
        String nodeA = Cluster.get(cluster.nodes.get(0).system()).selfMember().address().hostPort();
        assertEquals(200, chat("m16"));
        assertEquals(503, chat("m20"), "20 GiB doesn't fit next to 16 GiB on a 24 GiB GPU");

        cluster.start("pekko.cluster.roles = [agent]\nllmrt.agent.gpus = [ { name = L4, memory = 16GiB } ]");
        String nodeB = Cluster.get(cluster.nodes.get(2).system()).selfMember().address().hostPort();
        long t0 = System.nanoTime();
        eventually(Duration.ofSeconds(60), () -> assertEquals(200, chat("m20"), "m20 placed once m16 moved"));
        eventually(Duration.ofSeconds(30), () -> assertEquals(200, chat("m16"), "m16 serves from its new node"));
        eventually(Duration.ofSeconds(30), () -> assertEquals(Map.of("m16", nodeB, "m20", nodeA), where()));
        System.out.printf("move on join: m20 served %d ms after node B started%n", (System.nanoTime() - t0) / 1_000_000);
        assertTrue(where().size() == 2, "one runner each, the old m16 runner unloaded");
    }
}
