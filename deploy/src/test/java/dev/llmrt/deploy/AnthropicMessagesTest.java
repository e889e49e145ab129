package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Anthropic's Messages API through the gateway, on every mount model-runner has: JSON and the event
 * stream with Anthropic's event names, count_tokens, errors in Anthropic's shape, the origin
 * model-runner sets, and the recorder putting a streamed message back together.
 */
class AnthropicMessagesTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ASK = "{\"model\":\"sim/fast\",\"max_tokens\":5,\"system\":\"be brief\","
            + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello there you\"}]}]";
    private static InJvmCluster cluster;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        cluster = new InJvmCluster("");
        port = cluster.start("").port();
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return TestHttp.send(TestHttp.local(port), "POST", path, body, "anthropic-version", "2023-06-01");
    }

    @Test
    void aMessageOnEveryMount() throws Exception {
        for (String path : List.of("/v1/messages", "/anthropic/v1/messages", "/engines/v1/messages", "/engines/sim/v1/messages",
                "/exp/vDD4.40/engines/v1/messages")) {
            HttpResponse<String> r = post(path, ASK + "}");
            assertEquals(200, r.statusCode(), path + ": " + r.body());
            JsonNode m = JSON.readTree(r.body());
            assertEquals("message", m.path("type").asText(), r.body());
            assertEquals("assistant", m.path("role").asText());
            assertEquals("text", m.path("content").get(0).path("type").asText());
            assertEquals(5, m.path("content").get(0).path("text").asText().trim().split(" ").length, r.body());
            assertEquals("max_tokens", m.path("stop_reason").asText());
            assertEquals(5, m.path("usage").path("input_tokens").asInt(), "system and message words: " + r.body());
            assertEquals(5, m.path("usage").path("output_tokens").asInt());
        }
        HttpResponse<String> count = post("/anthropic/v1/messages/count_tokens", ASK + "}");
        assertEquals(200, count.statusCode(), count.body());
        assertEquals(5, JSON.readTree(count.body()).path("input_tokens").asInt());
    }

    @Test
    void theEventStreamHasAnthropicsEventsInOrder() throws Exception {
        HttpResponse<String> r = post("/anthropic/v1/messages", ASK + ",\"stream\":true}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> names = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("event: ")) {
                names.add(line.substring(7));
            } else if (line.startsWith("data: ")) {
                JsonNode data = JSON.readTree(line.substring(6));
                assertEquals(names.get(names.size() - 1), data.path("type").asText(), "each event's data names it");
                text.append(data.path("delta").path("text").asText(""));
            }
        }
        assertEquals(List.of("message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
                "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta",
                "message_stop"), names);
        assertEquals(5, text.toString().trim().split(" ").length);

        // the recorder shows it as the message it stands for, with model-runner's origin
        JsonNode records = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/engines/requests?model=sim/fast")).build(), HttpResponse.BodyHandlers.ofString()).body());
        JsonNode last = null;
        for (JsonNode rec : records.get(0).path("records")) {
            last = rec;
        }
        assertEquals("anthropic/messages", last.path("origin").asText(), last.toString());
        JsonNode assembled = JSON.readTree(last.path("response").asText());
        assertEquals("message", assembled.path("type").asText(), assembled.toString());
        assertEquals(text.toString(), assembled.path("content").get(0).path("text").asText());
        assertEquals("max_tokens", assembled.path("stop_reason").asText());
        assertEquals(5, assembled.path("usage").path("output_tokens").asInt());
    }

    @Test
    void errorsComeInAnthropicsShape() throws Exception {
        HttpResponse<String> missing = post("/anthropic/v1/messages", "{\"model\":\"no-such\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(404, missing.statusCode());
        JsonNode e = JSON.readTree(missing.body());
        assertEquals("error", e.path("type").asText(), missing.body());
        assertEquals("not_found_error", e.path("error").path("type").asText());
        assertTrue(e.path("error").path("message").asText().contains("no-such"));

        HttpResponse<String> broken = post("/v1/messages", "{not json");
        assertEquals(400, broken.statusCode());
        assertEquals("invalid_request_error", JSON.readTree(broken.body()).path("error").path("type").asText(), broken.body());

        HttpResponse<String> backend = post("/v1/messages", "{\"model\":\"sim/fast\",\"max_tokens\":5}");
        assertEquals(400, backend.statusCode(), "the backend's own refusal, passed through: " + backend.body());
        assertEquals("error", JSON.readTree(backend.body()).path("type").asText(), backend.body());
    }
}
