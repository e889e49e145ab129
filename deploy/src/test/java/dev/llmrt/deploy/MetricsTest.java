package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} after a known sequence of requests: the text passes Prometheus' own parser
 * (promtool), holds the series with the right label values and counts, and a real Prometheus,
 * configured from {@code deploy/prometheus/prometheus.yml}, scrapes the node and answers a PromQL
 * query with the requests sent.
 */
class MetricsTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static InJvmCluster cluster;
    private static int port;

    @BeforeAll
    static void startAndSendKnownRequests() throws Exception {
        cluster = new InJvmCluster("");
        port = cluster.start("").port();
        String chat = "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        assertEquals(200, post(chat, null).statusCode());
        assertEquals(200, post(chat, null).statusCode());
        assertEquals(200, post(chat, "openwebui").statusCode());
        assertEquals(200, post("{\"model\":\"sim/tiny\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", null)
                .statusCode());
        assertEquals(404, post("{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", null).statusCode());
        assertEquals(400, post("{not json", null).statusCode());
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    private static HttpResponse<String> post(String body, String origin) throws Exception {
        return TestHttp.send(TestHttp.local(port), "POST", "/v1/chat/completions", body, "X-Request-Origin", origin);
    }

    private static String metrics() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        return r.body();
    }

    /** Sample lines as series (name and labels, as written) to value. */
    private static Map<String, Double> samples(String text) {
        Map<String, Double> out = new HashMap<>();
        for (String line : text.split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                int sp = line.lastIndexOf(' ');
                out.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
            }
        }
        return out;
    }

    private static Path tool(String name) {
        for (String dir : List.of("/usr/bin", "/usr/local/bin")) {
            if (Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name);
            }
        }
        throw new AssertionError(name + " is not installed: run deploy/scripts/setup.sh (it installs Debian's prometheus package)");
    }

    @Test
    void theTextParsesAndHoldsTheSeriesOfTheRequestsSent() throws Exception {
        String text = metrics();
        Process check = new ProcessBuilder(tool("promtool").toString(), "check", "metrics").redirectErrorStream(true).start();
        check.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        check.getOutputStream().close();
        String verdict = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(check.waitFor(30, TimeUnit.SECONDS));
        // the runners' series keep the names their backends give them (llama-server's and vLLM's have a
        // ':', which promtool's lint frowns on), so that dashboards made for those backends work;
        // promtool may say only that, and only of them
        for (String complaint : verdict.strip().split("\n")) {
            assertTrue(complaint.isEmpty() || complaint.matches("(llamacpp|sim):[a-z_]+ metric names should not contain ':'"),
                    "promtool check metrics: " + verdict);
        }

        Map<String, Double> s = samples(text);
        String route = "route=\"/v1/chat/completions\"";
        assertEquals(2.0, s.get("llmrt_requests_total{model=\"sim/fast\",origin=\"\"," + route + ",status=\"200\"}"), text);
        assertEquals(1.0, s.get("llmrt_requests_total{model=\"sim/fast\",origin=\"openwebui\"," + route + ",status=\"200\"}"));
        assertEquals(1.0, s.get("llmrt_requests_total{model=\"sim/tiny\",origin=\"\"," + route + ",status=\"200\"}"));
        assertEquals(1.0, s.get("llmrt_requests_total{model=\"\",origin=\"\"," + route + ",status=\"404\"}"),
                "a model not in the catalog is no label value of its own");
        assertEquals(1.0, s.get("llmrt_requests_total{model=\"\",origin=\"\"," + route + ",status=\"400\"}"));
        assertEquals(3.0, s.get("llmrt_e2e_request_latency_seconds_count{model=\"sim/fast\"}"));
        assertEquals(1.0, s.get("llmrt_time_to_first_token_seconds_count{model=\"sim/tiny\"}"));
        assertTrue(s.get("llmrt_inter_token_latency_seconds_count{model=\"sim/tiny\"}") >= 20, "sim/tiny streams 24 tokens");
        assertEquals(3.0, s.get("llmrt_request_queue_time_seconds_count{model=\"sim/fast\"}"));
        assertEquals(24.0, s.get("llmrt_generation_tokens_total{model=\"sim/fast\"}"), "8 tokens per answer, from usage");
        assertTrue(s.get("llmrt_prompt_tokens_total{model=\"sim/fast\"}") > 0);
        String node = s.keySet().stream().filter(k -> k.startsWith("llmrt_runner_load_seconds_count{"))
                .filter(k -> k.contains("model=\"sim/fast\"")).findFirst().orElseThrow(() -> new AssertionError(text));
        assertEquals(1.0, s.get(node), "one runner loaded for sim/fast");
        assertTrue(node.contains("backend=\"sim\"") && node.contains("mode=\"completion\"") && node.contains("node=\"llmrt@127.0.0.1:"));
        assertTrue(s.keySet().stream().anyMatch(k -> k.startsWith("llmrt_placement_decisions_total{")
                && k.contains("model=\"sim/fast\"") && k.contains("outcome=\"placed\"")));
        assertTrue(s.keySet().stream().anyMatch(k -> k.startsWith("llmrt_runner_requests_in_flight{") && k.contains("model=\"sim/tiny\"")));
        assertTrue(s.keySet().stream().anyMatch(k -> k.startsWith("jvm_memory_used_bytes{")), "JVM metrics");

        // each runner's own /metrics (the sim writes llama-server's series), re-exported with its labels
        String predicted = s.keySet().stream().filter(k -> k.startsWith("llamacpp:tokens_predicted_total{"))
                .filter(k -> k.contains("model=\"sim/fast\"")).findFirst().orElseThrow(() -> new AssertionError(text));
        assertEquals(24.0, s.get(predicted), "the runner's own count of the 3 answers' tokens: " + predicted);
        assertTrue(predicted.contains("backend=\"sim\"") && predicted.contains("mode=\"completion\"")
                && predicted.contains("node=\"llmrt@127.0.0.1:"), predicted);
        assertTrue(s.keySet().stream().anyMatch(k -> k.startsWith("llamacpp:requests_processing{") && k.contains("model=\"sim/tiny\"")),
                "gauges of every runner: " + text);
    }

    @Test
    void aRealPrometheusScrapesTheNodeAndAnswersAQueryWithTheRequestsSent() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-prometheus-");
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        JsonNode config = yaml.readTree(Path.of(System.getProperty("user.dir"), "prometheus/prometheus.yml").toFile());
        ((ObjectNode) config.get("global")).put("scrape_interval", "1s");
        JsonNode job = config.get("scrape_configs").get(0);
        ((ObjectNode) job.get("static_configs").get(0)).putArray("targets").add("127.0.0.1:" + port);
        Path file = dir.resolve("prometheus.yml");
        yaml.writeValue(file.toFile(), config);
        int webPort;
        try (ServerSocket s = new ServerSocket(0)) {
            webPort = s.getLocalPort();
        }
        Process prometheus = new ProcessBuilder(tool("prometheus").toString(), "--config.file=" + file,
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + webPort)
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        try {
            String query = URLEncoder.encode("sum(llmrt_requests_total{status=\"200\"})", StandardCharsets.UTF_8);
            URI uri = URI.create("http://127.0.0.1:" + webPort + "/api/v1/query?query=" + query);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String last = "";
            while (System.nanoTime() < deadline) {
                try {
                    last = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.ofString()).body();
                    JsonNode result = JSON.readTree(last).path("data").path("result");
                    if (result.size() == 1 && result.get(0).path("value").get(1).asText().equals("4")) {
                        // 3 chat answers and 1 stream, scraped and queried; now the Grafana dashboard's queries
                        grafanaQueriesAreValidAndFindData(webPort);
                        return;
                    }
                } catch (IOException notYet) {
                    // Prometheus is starting
                }
                Thread.sleep(250);
            }
            throw new AssertionError("Prometheus never answered 4 requests; last answer: " + last + "\nlog: "
                    + Files.readString(dir.resolve("prometheus.log")));
        } finally {
            prometheus.destroy();
            if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
                prometheus.destroyForcibly();
            }
        }
    }

    /** Every query of deploy/grafana's dashboard is valid PromQL here; those over gauges find the node's series. */
    private static void grafanaQueriesAreValidAndFindData(int webPort) throws Exception {
        JsonNode dashboard = JSON.readTree(Path.of(System.getProperty("user.dir"), "grafana/llmrt-dashboard.json").toFile());
        int checked = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText().replace("$__rate_interval", "5m");
                URI query = URI.create("http://127.0.0.1:" + webPort + "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
                String title = panel.path("title").asText();
                // a rate needs two scrapes in its window; a gauge has data from the first. A scrape that
                // timed out on a loaded machine marks every series stale until the next one succeeds.
                boolean gauge = !expr.contains("rate(") && !expr.contains("increase(") && !expr.contains("gpu");
                eventually(Duration.ofSeconds(30), () -> {
                    String answer = HTTP.send(HttpRequest.newBuilder(query).build(), HttpResponse.BodyHandlers.ofString()).body();
                    JsonNode parsed = JSON.readTree(answer);
                    assertEquals("success", parsed.path("status").asText(), title + ": " + expr + " -> " + answer);
                    if (gauge) {
                        assertTrue(parsed.path("data").path("result").size() > 0, expr + " finds the node's series: " + answer);
                    }
                });
                checked++;
            }
        }
        assertTrue(checked >= 10, "the dashboard's queries: " + checked);
    }
}
