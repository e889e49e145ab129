package dev.llmrt.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.InferenceProtocol.FailureKind;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.agent.placement.NodeCapacity;
import dev.llmrt.gateway.metrics.GatewayMetrics;
import dev.llmrt.gateway.metrics.MetricsRoutes;
import dev.llmrt.runtime.spi.BackendConfiguration;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.pattern.AskTimeoutException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every status the gateway answers, through its real routes on a real port, with a stub
 * {@link ModelRouter} whose reply each model name chooses: what the client sees for each failure
 * the runtime reports, for each bad request, and for the router's own exceptions.
 */
class GatewayRoutesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Config CONFIG = ConfigFactory.parseString("llmrt.gateway.max-body-bytes = 1KiB")
            .withFallback(ConfigFactory.load());
    private static final ActorTestKit testKit = ActorTestKit.create("GatewayRoutesTest", CONFIG);
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static Materializer materializer;
    /** What the stub readiness says the node waits for. */
    private static final AtomicReference<List<String>> waitingFor = new AtomicReference<>(List.of("joining the cluster"));
    private static ServerBinding binding;
    /** The request ids the stub router was given. */
    private static final List<String> LAST_REQUEST_IDS = new java.util.concurrent.CopyOnWriteArrayList<>();

    private static Map<String, Supplier<CompletionStage<InferenceProtocol.Reply>>> remember(String requestId) {
        LAST_REQUEST_IDS.add(requestId);
        return REPLIES;
    }

    /** What the stub router answers for each model. */
    private static final Map<String, Supplier<CompletionStage<InferenceProtocol.Reply>>> REPLIES = Map.of(
            "ok", () -> done(new InferenceProtocol.Completed(200, "application/json", bytes("{\"id\":\"x\"}"))),
            "limited", () -> done(new InferenceProtocol.Completed(429, "application/json", bytes("{\"error\":\"slow down\"}"))),
            "stream", () -> done(new InferenceProtocol.Streamed(200, "text/event-stream",
                    Source.from(List.of(ByteString.fromString("data: 1\n\n"), ByteString.fromString("data: [DONE]\n\n")))
                            .runWith(StreamRefs.sourceRef(), materializer))),
            "refused", () -> done(new InferenceProtocol.Failed(FailureKind.BAD_REQUEST, "context too long")),
            "gone", () -> done(new InferenceProtocol.Failed(FailureKind.MODEL_NOT_FOUND, "model 'gone' not found")),
            "uninstalled", () -> done(new InferenceProtocol.Failed(FailureKind.BACKEND_NOT_INSTALLED, "install it so")),
            "full", () -> done(new InferenceProtocol.Failed(FailureKind.RUNNER_UNAVAILABLE, "needs 100.0 GiB VRAM")),
            "crashed", () -> done(new InferenceProtocol.Failed(FailureKind.BACKEND_FAILED, "sim terminated unexpectedly")),
            "silent", () -> CompletableFuture.failedFuture(new AskTimeoutException("no reply")),
            "broken", () -> CompletableFuture.failedFuture(new IllegalStateException("a bug in the router")));

    private static CompletionStage<InferenceProtocol.Reply> done(InferenceProtocol.Reply reply) {
        return CompletableFuture.completedFuture(reply);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @BeforeAll
    static void bind() throws Exception {
        materializer = Materializer.matFromSystem(testKit.system());
        ModelCatalog catalog = new ModelCatalog(REPLIES.keySet().stream()
                .map(name -> new ModelSpec(name, "sim", name, name.equals("ok")
                        ? new BackendConfiguration(512L, List.of(), null) : BackendConfiguration.EMPTY, -1)).toList());
        ModelRouter stub = (model, mode, request, affinity) -> remember(request.requestId()).get(model).get().thenApply(reply ->
                reply instanceof InferenceProtocol.Streamed s
                        ? new Routed.Streaming(s.status(), s.contentType(), s.body().getSource().mapMaterializedValue(m -> NotUsed.getInstance()))
                        : new Routed.Answered(reply));
        StatusSource status = new StatusSource() {
            @Override
            public Map<String, NodeCapacity> capacity() {
                return Map.of();
            }

            @Override
            public CompletionStage<List<NodeAgent.Runners>> runners() {
                return CompletableFuture.completedFuture(List.of(new NodeAgent.Runners("node-a", List.of())));
            }

            @Override
            public Map<String, String> backends() {
                return Map.of("sim", "Running: sim");
            }
        };
        GatewaySettings settings = GatewaySettings.fromConfig(CONFIG);
        PrometheusRegistry registry = new PrometheusRegistry();
        OpenAiRoutes openAi = new OpenAiRoutes(catalog, java.util.Set.of("sim", "llama.cpp"), stub, settings, materializer, JSON,
                new GatewayMetrics(registry));
        HealthRoutes health = new HealthRoutes(() -> CompletableFuture.completedFuture(waitingFor.get()),
                testKit.system().executionContext());
        GatewayServer server = new GatewayServer(testKit.system(), openAi, new StatusRoutes(status, JSON,
                testKit.system().executionContext(), materializer, Duration.ofSeconds(1), 10), health,
                new MetricsRoutes(registry));
        binding = Http.get(testKit.system()).newServerAt("127.0.0.1", 0).bind(server.handler())
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void shutdown() {
        testKit.shutdownTestKit();
    }

    private static HttpResponse<String> send(String method, String path, HttpRequest.BodyPublisher body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.localAddress().getPort() + path))
                .timeout(Duration.ofSeconds(10)).method(method, body).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> chat(String body) throws Exception {
        return send("POST", "/v1/chat/completions", HttpRequest.BodyPublishers.ofString(body));
    }

    /** Asserts the status and, for an error, OpenAI's error shape with this code; returns the message. */
    private static String assertError(int status, String code, HttpResponse<String> r) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElse(""));
        JsonNode error = JSON.readTree(r.body()).get("error");
        assertEquals(code, error.get("code").asText(), r.body());
        assertTrue(error.hasNonNull("type") && error.hasNonNull("message"), r.body());
        return error.get("message").asText();
    }

    @Test
    void answersAreRelayedWithTheBackendsStatusAndType() throws Exception {
        HttpResponse<String> ok = chat("{\"model\":\"ok\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, ok.statusCode());
        assertEquals("{\"id\":\"x\"}", ok.body());
        HttpResponse<String> limited = chat("{\"model\":\"limited\"}");
        assertEquals(429, limited.statusCode(), "a backend's own status passes through");
        HttpResponse<String> stream = chat("{\"model\":\"stream\",\"stream\":true}");
        assertEquals(200, stream.statusCode());
        assertEquals("text/event-stream", stream.headers().firstValue("content-type").orElse(""));
        assertEquals("data: 1\n\ndata: [DONE]\n\n", stream.body());
    }

    @Test
    void everyAnswerCarriesARequestIdTheClientsOwnWhenItSentOne() throws Exception {
        HttpResponse<String> made = chat("{\"model\":\"ok\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        String id = made.headers().firstValue("X-Request-Id").orElse("");
        assertTrue(id.matches("[0-9a-f]{16}"), "an id made by the gateway: " + id);
        HttpResponse<String> kept = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + binding.localAddress().getPort() + "/v1/chat/completions")).header("X-Request-Id", "trace-42")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"nope\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, kept.statusCode());
        assertEquals("trace-42", kept.headers().firstValue("X-Request-Id").orElse(""), "the client's id, on errors too");
        assertTrue(LAST_REQUEST_IDS.contains(id), "the router was given the id to carry to the runner: " + LAST_REQUEST_IDS);
    }

    @Test
    void badRequestsGet400And404And405And413() throws Exception {
        assertError(400, "invalid_request", chat("{not json"));
        assertError(400, "invalid_request", chat("[1,2]"));
        assertTrue(assertError(400, "invalid_request", chat("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).contains("'model' is required"));
        assertError(404, "model_not_found", chat("{\"model\":\"nope\"}"));
        assertTrue(assertError(400, "invalid_value", chat("{\"model\":\"ok\",\"max_tokens\":513}"))
                .contains("context size of 512"), "beyond the model's context size");
        assertError(400, "invalid_value", chat("{\"model\":\"ok\",\"n\":1000000000}"));
        assertError(404, "backend_not_found", send("POST", "/engines/nobackend/v1/chat/completions",
                HttpRequest.BodyPublishers.ofString("{\"model\":\"ok\"}")));
        assertTrue(assertError(404, "model_not_found", send("POST", "/engines/llama.cpp/v1/chat/completions",
                HttpRequest.BodyPublishers.ofString("{\"model\":\"ok\"}"))).contains("served by backend 'sim'"));
        assertError(404, "not_found", send("GET", "/nowhere", HttpRequest.BodyPublishers.noBody()));
        HttpResponse<String> wrongMethod = send("POST", "/status", HttpRequest.BodyPublishers.noBody());
        assertError(405, "method_not_allowed", wrongMethod);
        assertEquals("GET", wrongMethod.headers().firstValue("allow").orElse(""));
        assertError(404, "not_found", send("POST", "/nowhere", HttpRequest.BodyPublishers.noBody()));

        String big = "{\"model\":\"ok\",\"pad\":\"" + "x".repeat(2048) + "\"}";
        assertError(413, "request_too_large", chat(big));
        assertError(413, "request_too_large", send("POST", "/v1/chat/completions",
                HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes(big))))); // chunked: no length
    }

    @Test
    void eachFailureTheRuntimeReportsHasItsStatus() throws Exception {
        assertEquals("context too long", assertError(400, "invalid_request", chat("{\"model\":\"refused\"}")));
        assertError(404, "model_not_found", chat("{\"model\":\"gone\"}"));
        assertEquals("install it so", assertError(412, "backend_not_installed", chat("{\"model\":\"uninstalled\"}")));
        assertEquals("needs 100.0 GiB VRAM", assertError(503, "runner_unavailable", chat("{\"model\":\"full\"}")));
        assertError(502, "backend_failed", chat("{\"model\":\"crashed\"}"));
    }

    @Test
    void theRoutersOwnExceptionsGet504And500WithTheReason() throws Exception {
        assertTrue(assertError(504, "timeout", chat("{\"model\":\"silent\"}")).contains("no response from the model's runner"));
        assertTrue(assertError(500, "internal_error", chat("{\"model\":\"broken\"}")).contains("a bug in the router"));
    }

    @Test
    void statusAndModelListsAnswer200() throws Exception {
        HttpResponse<String> status = send("GET", "/status", HttpRequest.BodyPublishers.noBody());
        assertEquals(200, status.statusCode());
        assertEquals(0, JSON.readTree(status.body()).get("runners").size());
        assertEquals("Running: sim", JSON.readTree(send("GET", "/engines/status", HttpRequest.BodyPublishers.noBody()).body())
                .get("sim").asText());
        JsonNode models = JSON.readTree(send("GET", "/v1/models", HttpRequest.BodyPublishers.noBody()).body());
        assertEquals(REPLIES.size(), models.get("data").size());
        assertEquals("llmrt is running", send("GET", "/", HttpRequest.BodyPublishers.noBody()).body());
    }

    @Test
    void healthIs200WhileReadyIs503UntilTheNodeCanWorkThen200() throws Exception {
        HttpResponse<String> health = send("GET", "/health", HttpRequest.BodyPublishers.noBody());
        assertEquals(200, health.statusCode());
        assertEquals("{\"status\":\"ok\"}", health.body());
        HttpResponse<String> notReady = send("GET", "/ready", HttpRequest.BodyPublishers.noBody());
        assertEquals(503, notReady.statusCode());
        assertEquals("{\"status\":\"not ready\",\"waiting_for\":[\"joining the cluster\"]}", notReady.body());
        waitingFor.set(List.of());
        HttpResponse<String> ready = send("GET", "/ready", HttpRequest.BodyPublishers.noBody());
        assertEquals(200, ready.statusCode());
        assertEquals("{\"status\":\"ready\"}", ready.body());
        assertError(405, "method_not_allowed", send("POST", "/ready", HttpRequest.BodyPublishers.noBody()));
    }
}
