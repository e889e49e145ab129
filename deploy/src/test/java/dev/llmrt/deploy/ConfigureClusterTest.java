package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * model-runner's {@code _configure} on a cluster: a configuration taken by one gateway is seen by
 * every node, preloads the model, is what its next runner runs with, is refused with 409 while the
 * runner serves a request, and outlives the node that took it.
 */
class ConfigureClusterTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"sim/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}";

    private static HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
        return HTTP.send(request(port, method, path, body), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest request(int port, String method, String path, String body) {
        return TestHttp.request(TestHttp.local(port), method, path, body).build();
    }

    private static JsonNode configured(int port) throws Exception {
        HttpResponse<String> r = send(port, "GET", "/engines/_configure", null);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void aConfigurationHoldsClusterWideAndOutlivesTheNodeThatTookIt() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int a = cluster.start("").port();
            int b = cluster.start("").port();

            // refusals first: they change nothing
            assertEquals(404, send(b, "POST", "/engines/nope/_configure", "{\"model\":\"sim/tiny\"}").statusCode());
            assertEquals(404, send(b, "POST", "/engines/_configure", "{\"model\":\"no-such-model\"}").statusCode());
            assertEquals(400, send(b, "POST", "/engines/llama.cpp/_configure", "{\"model\":\"sim/tiny\"}").statusCode(),
                    "sim/tiny runs on the sim backend");
            HttpResponse<String> refused = send(b, "POST", "/engines/sim/_configure",
                    "{\"model\":\"sim/tiny\",\"runtime-flags\":[\"--log-file=/tmp/x\"]}");
            assertEquals(400, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("--log-file"), "names the flag: " + refused.body());
            assertEquals(400, send(b, "POST", "/engines/sim/_configure", "{\"model\":\"sim/tiny\",\"keep_alive\":\"soon\"}").statusCode());
            assertEquals(400, send(b, "POST", "/engines/sim/_configure", "not json").statusCode());
            assertEquals(400, send(b, "POST", "/engines/sim/_configure",
                    "{\"model\":\"sim/tiny\",\"llamacpp\":{\"reasoning-budget\":0}}").statusCode(),
                    "becomes --reasoning-budget, which the sim doesn't take");
            assertEquals(400, send(b, "POST", "/engines/sim/_configure",
                    "{\"model\":\"sim/tiny\",\"vllm\":{\"gpu-memory-utilization\":1.5}}").statusCode());
            assertEquals(0, configured(a).size());

            // taken by node b (not the seed, so the cluster can lose it)
            HttpResponse<String> accepted = send(b, "POST", "/engines/sim/_configure", """
                    {"model":"sim/tiny","context-size":2048,"raw-runtime-flags":"--ttft-ms=1500 --max-tokens 2","keep_alive":"1h30m"}""");
            assertEquals(202, accepted.statusCode(), accepted.body());
            eventually(Duration.ofSeconds(10), () -> {
                JsonNode list = configured(a);
                assertEquals(1, list.size(), list.toString());
                JsonNode entry = list.get(0);
                assertEquals("sim", entry.path("Backend").asText());
                assertEquals("sim/tiny", entry.path("Model").asText());
                assertEquals("completion", entry.path("Mode").asText());
                assertEquals(2048, entry.path("Config").path("context-size").asInt(), entry.toString());
                assertEquals("[\"--ttft-ms=1500\",\"--max-tokens\",\"2\"]", entry.path("Config").path("runtime-flags").toString());
                assertEquals("1h30m0s", entry.path("Config").path("keep_alive").asText());
            });
            // the background preload started its runner, with no request
            eventually(Duration.ofSeconds(30), () -> {
                JsonNode ps = JSON.readTree(send(a, "GET", "/engines/ps", null).body());
                assertEquals(1, ps.size(), ps.toString());
                assertEquals("sim/tiny", ps.get(0).path("model_name").asText());
                assertEquals(false, ps.get(0).path("loading").asBoolean(), ps.toString());
                assertEquals("5400s", ps.get(0).path("keep_alive").asText(), "the configured keep-alive: " + ps);
            });

            // the runner runs as configured: 1.5 s to the first token; while it serves, configuring is a 409
            long start = System.nanoTime();
            CompletableFuture<HttpResponse<String>> slow = HTTP.sendAsync(request(a, "POST", "/v1/chat/completions", CHAT),
                    HttpResponse.BodyHandlers.ofString());
            eventually(Duration.ofSeconds(5), () -> {
                JsonNode ps = JSON.readTree(send(a, "GET", "/engines/ps", null).body());
                assertTrue(ps.get(0).path("in_use").asBoolean(), ps.toString());
            });
            HttpResponse<String> busy = send(a, "POST", "/engines/_configure", "{\"model\":\"sim/tiny\",\"context-size\":4096}");
            assertEquals(409, busy.statusCode(), busy.body());
            assertEquals(200, slow.get(30, TimeUnit.SECONDS).statusCode());
            assertTrue(System.nanoTime() - start >= 1_500_000_000L, "the configured --ttft-ms=1500 applies");
            assertEquals(2048, configured(a).get(0).path("Config").path("context-size").asInt(), "the 409 changed nothing");

            // node b, which took it, leaves; the configuration stays, and a node that joins later has it
            cluster.nodes.get(1).stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
            int c = cluster.start("").port();
            eventually(Duration.ofSeconds(20), () -> {
                JsonNode list = configured(c);
                assertEquals(1, list.size(), list.toString());
                assertEquals("1h30m0s", list.get(0).path("Config").path("keep_alive").asText());
            });
            assertEquals(1, configured(a).size());
            assertEquals(200, send(c, "GET", "/exp/vDD4.40/engines/_configure?model=sim/tiny", null).statusCode());
            assertEquals("[]", send(c, "GET", "/engines/_configure?model=sim/fast", null).body());
        }
    }
}
