package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.runner.RunnerStatus;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole path, through the real start-up code and a real HTTP client: gateway, sharded model
 * entity, node agent, runner supervisor, sim process, and back.
 */
class GatewayEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards "
            + "quietly hex jolly boxing frogs near the old mill and every token arrives in order").split(" ");
    private static final String MODELS = """
            pekko.actor.serialize-messages = on
            llmrt.agent.restart-backoff.min = 100ms
            llmrt.models = [
              { name = "sim/chat", backend = sim, runtime-flags = ["--max-tokens=5"] }
              { name = "sim/slow", backend = sim, runtime-flags = ["--tpot-ms=40", "--max-tokens=200"] }
              { name = "sim/many", backend = sim, runtime-flags = ["--tpot-ms=2", "--max-tokens=40", "--max-seqs=64"] }
              { name = "sim/embed", backend = sim, runtime-flags = ["--embedding-dim=16"] }
              { name = "sim/broken", backend = sim, runtime-flags = ["--fail-at-start=CUDA error: out of memory"] }
              { name = "sim/crashy", backend = sim, runtime-flags = ["--exit-after=1"] }
              { name = "vllm/absent", backend = vllm, model = "/nonexistent" }
            ]
            llmrt.backends.vllm.binary = "/nonexistent/vllm"
            """;

    private static LlmrtNode node;
    private static LlmrtNode.Started started;
    private static String base;
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void startNode() throws Exception {
        Config config = ConfigFactory.parseString(MODELS).withFallback(ServeCommand.load(null, "127.0.0.1", 0, null));
        node = LlmrtNode.start(config);
        started = node.started().toCompletableFuture().get(60, TimeUnit.SECONDS);
        base = "http://127.0.0.1:" + started.port();
    }

    @AfterAll
    static void stopNode() throws Exception {
        node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        // stopping the node stops every runner and reaps its process
        List<ProcessHandle> left = ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList();
        assertEquals(List.of(), left, "sim processes left behind");
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return TestHttp.send(base, "POST", path, body);
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return TestHttp.send(base, "GET", path, null);
    }

    private static String chat(String model, boolean stream, int maxTokens) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"tell me a story\"}]}";
    }

    private static JsonNode error(HttpResponse<String> response) throws Exception {
        JsonNode e = JSON.readTree(response.body()).get("error");
        assertTrue(e != null && e.hasNonNull("message") && e.hasNonNull("type") && e.hasNonNull("code"),
                "OpenAI error shape: " + response.body());
        assertEquals("application/json", response.headers().firstValue("content-type").orElse(""));
        return e;
    }

    @Test
    void chatCompletionAsJson() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions",
                "{\"model\":\"sim/chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("sim/chat", body.get("model").asText());
        assertEquals("the quick brown fox jumps ", body.at("/choices/0/message/content").asText());
        assertEquals(5, body.at("/usage/completion_tokens").asInt());
    }

    @Test
    void everyRouteFormReachesTheModel() throws Exception {
        for (String prefix : List.of("", "/engines", "/engines/sim", "/exp/vDD4.40/engines", "/exp/vDD4.40/engines/sim")) {
            HttpResponse<String> r = post(prefix + "/v1/completions", "{\"model\":\"sim/chat\",\"prompt\":\"hi\"}");
            assertEquals(200, r.statusCode(), prefix + ": " + r.body());
            assertEquals("text_completion", JSON.readTree(r.body()).get("object").asText());
        }
    }

    @Test
    void streamingPassesTokensThroughAsTheyAreGenerated() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(chat("sim/slow", true, 10))).build();
        HttpResponse<InputStream> r = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> events = new ArrayList<>();
        List<Long> arrivals = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    events.add(line.substring(6));
                    arrivals.add(System.nanoTime());
                }
            }
        }
        assertEquals("[DONE]", events.get(events.size() - 1));
        List<String> tokens = new ArrayList<>();
        for (String e : events.subList(1, events.size() - 2)) {
            tokens.add(JSON.readTree(e).at("/choices/0/delta/content").asText());
        }
        assertEquals(IntStream.range(0, 10).mapToObj(i -> WORDS[i] + " ").toList(), tokens);
        // 10 tokens at 40 ms each: the first arrives long before the last, so nothing buffered the stream
        long spreadMs = (arrivals.get(arrivals.size() - 1) - arrivals.get(1)) / 1_000_000;
        assertTrue(spreadMs >= 250, "tokens arrived over " + spreadMs + " ms, not all at once");
    }

    @Test
    void fiftyConcurrentStreamsEachGetEveryTokenInOrder() throws Exception {
        int streams = 50;
        int tokens = 40;
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            calls.add(client.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(120))
                    .POST(HttpRequest.BodyPublishers.ofString(chat("sim/many", true, tokens))).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        String expected = IntStream.range(0, tokens).mapToObj(i -> WORDS[i % WORDS.length] + " ").collect(Collectors.joining());
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            HttpResponse<String> r = call.get(120, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            List<String> events = r.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
            assertEquals("[DONE]", events.get(events.size() - 1));
            StringBuilder text = new StringBuilder();
            for (String e : events.subList(0, events.size() - 1)) {
                JsonNode delta = JSON.readTree(e).at("/choices/0/delta/content");
                if (delta.isTextual()) {
                    text.append(delta.asText());
                }
            }
            assertEquals(expected, text.toString());
        }
    }

    @Test
    void embeddingsAndModelLists() throws Exception {
        HttpResponse<String> r = post("/engines/sim/v1/embeddings", "{\"model\":\"sim/embed\",\"input\":[\"a\",\"b\"]}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals(2, body.get("data").size());
        assertEquals(16, body.at("/data/0/embedding").size());

        JsonNode models = JSON.readTree(get("/v1/models").body());
        assertEquals("list", models.get("object").asText());
        List<String> ids = new ArrayList<>();
        models.get("data").forEach(m -> ids.add(m.get("id").asText()));
        assertEquals(List.of("sim/chat", "sim/slow", "sim/many", "sim/embed", "sim/broken", "sim/crashy", "vllm/absent"), ids);
        assertEquals(6, JSON.readTree(get("/engines/sim/v1/models").body()).get("data").size());
        assertEquals("sim/embed", JSON.readTree(get("/v1/models/sim/embed").body()).get("id").asText());
        assertEquals(404, get("/v1/models/nope").statusCode());
    }

    @Test
    void malformedJsonAndMissingModelAre400() throws Exception {
        HttpResponse<String> bad = post("/v1/chat/completions", "{\"model\": \"sim/chat\", ");
        assertEquals(400, bad.statusCode());
        assertEquals("invalid_request_error", error(bad).get("type").asText());
        HttpResponse<String> missing = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(400, missing.statusCode());
        assertTrue(error(missing).get("message").asText().contains("'model' is required"));
        assertEquals(400, post("/v1/chat/completions", "[1,2]").statusCode());
    }

    @Test
    void aStartedNodeIsAliveAndReady() throws Exception {
        assertEquals(200, get("/health").statusCode());
        eventually(Duration.ofSeconds(10), () -> assertEquals(200, get("/ready").statusCode(), "ready once Up with its GPUs read"));
    }

    @Test
    void aBodyOverTheLimitIs413() throws Exception {
        String huge = "{\"model\":\"sim/chat\",\"prompt\":\"" + "x".repeat(11 * 1024 * 1024) + "\"}";
        HttpResponse<String> r = post("/v1/completions", huge);
        assertEquals(413, r.statusCode());
        assertEquals("request_too_large", error(r).get("code").asText());
    }

    @Test
    void unknownModelAndUnknownBackendAre404() throws Exception {
        HttpResponse<String> model = post("/v1/chat/completions", chat("sim/none", false, 1));
        assertEquals(404, model.statusCode());
        assertEquals("model_not_found", error(model).get("code").asText());
        HttpResponse<String> backend = post("/engines/nope/v1/chat/completions", chat("sim/chat", false, 1));
        assertEquals(404, backend.statusCode());
        assertTrue(error(backend).get("message").asText().contains("unknown backend 'nope'"));
        assertEquals(404, get("/no/such/route").statusCode());
    }

    @Test
    void aRunnerThatFailsToStartIs503WithTheBackendReason() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chat("sim/broken", false, 1));
        assertEquals(503, r.statusCode());
        String message = error(r).get("message").asText();
        assertTrue(message.contains("failed to start") && message.contains("CUDA error: out of memory"), message);
    }

    @Test
    void aBackendThatIsNotInstalledIs412WithHowToInstallIt() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", chat("vllm/absent", false, 1));
        assertEquals(412, r.statusCode());
        assertTrue(error(r).get("message").asText().contains("pip install vllm"), r.body());
    }

    @Test
    void aBackendThatDiesMidRequestIs502() throws Exception {
        assertEquals(200, post("/v1/chat/completions", chat("sim/crashy", false, 2)).statusCode());
        HttpResponse<String> r = post("/v1/chat/completions", chat("sim/crashy", false, 2));
        assertEquals(502, r.statusCode(), r.body());
        assertEquals("backend_failed", error(r).get("code").asText());
    }

    @Test
    void aClientThatDisconnectsCancelsTheBackendRequest() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(chat("sim/slow", true, 200))).build();
        HttpResponse<InputStream> r = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        int seen = 0;
        while (seen < 3) {
            if (reader.readLine().startsWith("data: ")) {
                seen++;
            }
        }
        assertEquals(1, inFlight("sim/slow"));
        reader.close(); // 200 tokens at 40 ms would take 8 s more
        eventually(Duration.ofSeconds(4), () -> assertEquals(0, inFlight("sim/slow"), "the backend request is cancelled"));
    }

    private static int inFlight(String model) throws Exception {
        NodeAgent.Runners runners = AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.agent(),
                NodeAgent.ListRunners::new, Duration.ofSeconds(5), node.system().scheduler()).toCompletableFuture().get();
        return runners.runners().stream().filter(s -> s.model().equals(model)).mapToInt(RunnerStatus::inFlight).sum();
    }
}
