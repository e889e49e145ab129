package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** model-runner's ops routes on a running node: {@code /engines/unload} (also under /exp/vDD4.40) and {@code /version}. */
class OpsRoutesTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    private static HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
        return TestHttp.send(TestHttp.local(port), method, path, body);
    }

    @Test
    void unloadStopsTheNamedIdleRunnersAndSaysHowMany() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());

            HttpResponse<String> other = send(port, "POST", "/engines/unload", "{\"backend\":\"llama.cpp\",\"models\":[\"sim/fast\"]}");
            assertEquals(200, other.statusCode());
            assertEquals(0, JSON.readTree(other.body()).path("unloaded_runners").asInt(), "another backend's runners only");

            HttpResponse<String> one = send(port, "POST", "/engines/unload", "{\"models\":[\"sim/fast\"]}");
            assertEquals(200, one.statusCode(), one.body());
            JsonNode answer = JSON.readTree(one.body());
            assertTrue(answer.path("unloaded_runners").isInt(), "model-runner's field and type: " + one.body());
            assertEquals(1, answer.path("unloaded_runners").asInt());
            eventually(Duration.ofSeconds(10), () -> {
                String ps = send(port, "GET", "/engines/ps", null).body();
                assertFalse(ps.contains("\"sim/fast\""), ps);
                assertTrue(ps.contains("\"sim/tiny\""), "the other model stays: " + ps);
            });

            HttpResponse<String> rest = send(port, "POST", "/exp/vDD4.40/engines/unload", "{\"all\":true}");
            assertEquals(1, JSON.readTree(rest.body()).path("unloaded_runners").asInt(), rest.body());
            assertEquals(400, send(port, "POST", "/engines/unload", "{}").statusCode(), "nothing named");
            assertEquals(405, send(port, "GET", "/engines/unload", null).statusCode());

            HttpResponse<String> version = send(port, "GET", "/version", null);
            assertEquals(200, version.statusCode());
            assertTrue(JSON.readTree(version.body()).path("version").isTextual(), version.body());
        }
    }

    @Test
    void engineStatusOnAGatewayIsTheClustersNotItsOwn() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("")) {
            // the agent has no llama-server where its config says; the gateway-only node's config is the default
            cluster.start("pekko.cluster.roles = [agent]\nllmrt.backends.llama-cpp.binary = \"/nonexistent/llama-server\"");
            int gateway = cluster.start("pekko.cluster.roles = [gateway]").port();
            eventually(Duration.ofSeconds(20), () -> {
                JsonNode status = JSON.readTree(send(gateway, "GET", "/engines/status", null).body());
                assertTrue(status.path("llama.cpp").asText().startsWith("Not Installed"), status.toString());
                assertTrue(status.path("sim").asText().startsWith("Running"), status.toString());
            });
        }
    }

    @Test
    void diskUsageSumsTheCatalogsModelFilesOnEveryAgent() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("llmrt-df-", ".gguf");
        java.nio.file.Files.write(file, new byte[12345]);
        String catalog = "llmrt.models = [ { name = \"on-disk\", backend = \"llama.cpp\", model = \"" + file + "\" } ]";
        try (InJvmCluster cluster = new InJvmCluster(catalog)) {
            cluster.start("pekko.cluster.roles = [agent]");
            cluster.start("pekko.cluster.roles = [agent]");
            int gateway = cluster.start("pekko.cluster.roles = [gateway]").port();
            eventually(Duration.ofSeconds(20), () -> {
                JsonNode df = JSON.readTree(send(gateway, "GET", "/engines/df", null).body());
                assertTrue(df.path("models_disk_usage").isIntegralNumber(), df.toString());
                assertTrue(df.path("default_backend_disk_usage").isIntegralNumber(), df.toString());
                assertEquals(2 * 12345, df.path("models_disk_usage").asLong(), "the file on each of 2 agents: " + df);
            });
            assertEquals(200, send(gateway, "GET", "/exp/vDD4.40/engines/df", null).statusCode());
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    @Test
    void theRecorderKeepsTheLastRequestsPerModelAsJsonAndAsEvents() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            HttpResponse<String> plain = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                    .header("Content-Type", "application/json").header("User-Agent", "recorder-test/1")
                    .header("X-Request-Origin", "openwebui").header("X-Request-Id", "rec-1").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, plain.statusCode());
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/tiny\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());

            JsonNode fast = JSON.readTree(send(port, "GET", "/engines/requests?model=sim/fast", null).body());
            assertEquals(1, fast.size(), fast.toString());
            assertEquals("sim/fast", fast.get(0).path("model").asText());
            assertEquals(1, fast.get(0).path("count").asInt());
            assertTrue(fast.get(0).path("config").isObject(), "model-runner's config object: " + fast);
            JsonNode record = fast.get(0).path("records").get(0);
            assertEquals("rec-1", record.path("id").asText());
            assertEquals("POST", record.path("method").asText());
            assertEquals("/v1/chat/completions", record.path("url").asText());
            assertEquals(200, record.path("status_code").asInt());
            assertEquals("recorder-test/1", record.path("user_agent").asText());
            assertEquals("openwebui", record.path("origin").asText());
            assertTrue(record.path("timestamp").asLong() > 1_700_000_000L, record.toString());
            assertEquals("sim/fast", JSON.readTree(record.path("request").asText()).path("model").asText());
            assertEquals(plain.body(), record.path("response").asText(), "the answer as the client got it");

            // a streamed answer is put back together as one chat.completion
            JsonNode tiny = JSON.readTree(send(port, "GET", "/engines/requests?model=sim/tiny", null).body()).get(0).path("records").get(0);
            JsonNode assembled = JSON.readTree(tiny.path("response").asText());
            assertEquals("chat.completion", assembled.path("object").asText(), tiny.toString());
            assertFalse(assembled.path("choices").get(0).path("message").path("content").asText().isEmpty(), assembled.toString());
            assertEquals(2, JSON.readTree(send(port, "GET", "/exp/vDD4.40/engines/requests", null).body()).size(), "both models");

            // as events: the existing ones, connected, then each new request as it ends
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            CompletableFuture<HttpResponse<Void>> events = HTTP.sendAsync(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/engines/requests?model=sim/fast&include_existing=true"))
                    .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.fromLineSubscriber(new LineCollector(lines)));
            assertEquals("existing_request", nextEvent(lines).get(0));
            assertEquals("connected", nextEvent(lines).get(0));
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"again\"}]}").statusCode());
            List<String> next = nextEvent(lines);
            assertEquals("new_request", next.get(0), "only sim/fast's, as asked");
            assertTrue(next.get(1).contains("again"), next.get(1));
            events.cancel(true);
        }
    }

    @Test
    void logsShowTheServiceAndItsRunnersOutputAndFollowNewLines() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());
            eventually(Duration.ofSeconds(10), () -> {
                HttpResponse<String> all = send(port, "GET", "/logs", null);
                assertEquals(200, all.statusCode());
                assertTrue(all.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
                assertTrue(all.body().contains("llmrt listening on") || all.body().contains("INFO"), all.body());
                assertTrue(all.body().contains("[sim "), "the runner's own output: " + all.body());
            });
            assertFalse(send(port, "GET", "/logs?no-engines=true", null).body().contains("[sim "), "no-engines leaves it out");
            assertEquals(400, send(port, "GET", "/logs?follow=maybe", null).statusCode());
            assertEquals(200, send(port, "GET", "/exp/vDD4.40/logs", null).statusCode());

            // follow: what is logged from now on arrives as it is logged
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            CompletableFuture<HttpResponse<Void>> follow = HTTP.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/logs?follow=1&no-engines=true")).build(),
                    HttpResponse.BodyHandlers.fromLineSubscriber(new LineCollector(lines)));
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            boolean seen = false;
            while (!seen && System.nanoTime() < deadline) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                seen = line != null && line.contains("sim/tiny") && line.contains("ready");
            }
            assertTrue(seen, "the line that says sim/tiny's new runner is ready, logged after the follow began");
            follow.cancel(true);
        }
    }

    @Test
    void placementDecisionsAndTheirReasonsAreInTheStatusAndItsEvents() throws Exception {
        String catalog = """
                llmrt.models = [
                  { name = "small", backend = "sim", runtime-flags = ["--ram-mb=64"] }
                  { name = "huge", backend = "sim", runtime-flags = ["--ram-mb=100000000"] }
                ]
                """;
        try (InJvmCluster cluster = new InJvmCluster(catalog)) {
            int port = cluster.start("").port();
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            CompletableFuture<HttpResponse<Void>> events = HTTP.sendAsync(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/status/events")).build(),
                    HttpResponse.BodyHandlers.fromLineSubscriber(new LineCollector(lines)));
            assertEquals("status", nextEvent(lines).get(0), "the status first");
            assertEquals(200, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());
            assertEquals(503, send(port, "POST", "/v1/chat/completions",
                    "{\"model\":\"huge\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());

            List<JsonNode> placements = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (placements.size() < 2 && System.nanoTime() < deadline) {
                List<String> e = nextEvent(lines);
                JsonNode data = JSON.readTree(e.get(1));
                if (e.get(0).equals("change") && data.path("type").asText().equals("placement")) {
                    placements.add(data);
                }
            }
            assertEquals(2, placements.size(), "a placement event for each decision: " + placements);
            JsonNode placed = placements.stream().filter(p -> p.path("model").asText().equals("small")).findFirst().orElseThrow();
            assertEquals("placed", placed.path("outcome").asText());
            assertTrue(placed.path("reason").asText().startsWith("in RAM: 0.1 GiB reserved"), placed.toString());
            JsonNode refused = placements.stream().filter(p -> p.path("model").asText().equals("huge")).findFirst().orElseThrow();
            assertEquals("refused", refused.path("outcome").asText());
            assertTrue(refused.path("reason").asText().contains("RAM"), "says what doesn't fit: " + refused);
            events.cancel(true);

            JsonNode status = JSON.readTree(send(port, "GET", "/status", null).body());
            assertTrue(status.path("placements").size() >= 2, "each decision (the router may try a refused model twice): "
                    + status.path("placements"));
            assertEquals("huge", status.path("placements").get(0).path("model").asText(), "newest first");
            assertTrue(status.path("events").toString().contains("\"placement\""), "kept among the last events");
        }
    }

    /** Hands each line of a response to a queue. */
    private record LineCollector(BlockingQueue<String> lines) implements Flow.Subscriber<String> {
        @Override
        public void onSubscribe(Flow.Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            lines.add(line);
        }

        @Override
        public void onError(Throwable e) {
            lines.add("<error: " + e + ">");
        }

        @Override
        public void onComplete() {
            lines.add("<end>");
        }
    }

    /** The next event of a stream as (name, data), heartbeats skipped; each line waited for at most 20 s. */
    private static List<String> nextEvent(BlockingQueue<String> lines) throws InterruptedException {
        String name = null;
        String data = null;
        while (true) {
            String line = lines.poll(20, TimeUnit.SECONDS);
            assertTrue(line != null && !line.startsWith("<"), "the event stream: " + line);
            if (line.startsWith("event:")) {
                name = line.substring(6).strip();
            } else if (line.startsWith("data:")) {
                data = line.substring(5).strip();
            } else if (line.isEmpty() && name != null) {
                return List.of(name, String.valueOf(data));
            }
        }
    }
}
