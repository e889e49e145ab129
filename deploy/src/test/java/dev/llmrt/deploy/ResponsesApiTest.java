package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * OpenAI's Responses API through the gateway, translated to chat completions as model-runner does:
 * create (JSON and its event stream), get, input items, delete, a conversation continued with
 * previous_response_id, model-runner's mounts, and refusals in OpenAI's shape.
 */
class ResponsesApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
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

    private static HttpResponse<String> send(String method, String path, String body) throws Exception {
        return TestHttp.send(TestHttp.local(port), method, path, body);
    }

    private static int words(String s) {
        return s.isBlank() ? 0 : s.trim().split("\\s+").length;
    }

    @Test
    void createGetInputItemsContinueAndDelete() throws Exception {
        HttpResponse<String> created = send("POST", "/v1/responses",
                "{\"model\":\"sim/fast\",\"instructions\":\"be brief\",\"input\":\"hi\"}");
        assertEquals(200, created.statusCode(), created.body());
        JsonNode r = JSON.readTree(created.body());
        assertTrue(r.path("id").asText().startsWith("resp_"), created.body());
        assertEquals("response", r.path("object").asText());
        assertEquals("completed", r.path("status").asText());
        JsonNode item = r.path("output").get(0);
        assertEquals("message", item.path("type").asText());
        assertEquals("assistant", item.path("role").asText());
        assertEquals("output_text", item.path("content").get(0).path("type").asText());
        String text = item.path("content").get(0).path("text").asText();
        assertEquals(8, words(text), created.body());
        assertEquals(text, r.path("output_text").asText());
        assertEquals(3, r.path("usage").path("input_tokens").asInt(), "instructions and input: " + r.path("usage"));
        assertEquals(8, r.path("usage").path("output_tokens").asInt());

        String id = r.path("id").asText();
        assertEquals(created.body(), send("GET", "/v1/responses/" + id, null).body());
        JsonNode items = JSON.readTree(send("GET", "/v1/responses/" + id + "/input_items", null).body());
        assertEquals("list", items.path("object").asText());
        assertEquals("hi", items.path("data").get(0).path("content").get(0).path("text").asText(), items.toString());

        // the next turn carries the conversation: hi (1) + the answer (8) + "and more" (2)
        JsonNode next = JSON.readTree(send("POST", "/v1/responses",
                "{\"model\":\"sim/fast\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"and more\"}]}],"
                        + "\"previous_response_id\":\"" + id + "\"}").body());
        assertEquals(11, next.path("usage").path("input_tokens").asInt(), next.toString());
        assertEquals(id, next.path("previous_response_id").asText());

        assertTrue(JSON.readTree(send("DELETE", "/v1/responses/" + id, null).body()).path("deleted").asBoolean());
        assertEquals(404, send("GET", "/v1/responses/" + id, null).statusCode());
        assertEquals(400, send("POST", "/v1/responses", "{\"model\":\"sim/fast\",\"input\":\"x\",\"previous_response_id\":\"" + id + "\"}")
                .statusCode(), "a deleted response can't be continued");
    }

    @Test
    void theEventStreamBuildsTheResponseAndKeepsIt() throws Exception {
        HttpResponse<String> streamed = send("POST", "/v1/responses", "{\"model\":\"sim/fast\",\"input\":\"hi\",\"stream\":true}");
        assertEquals(200, streamed.statusCode(), streamed.body());
        List<String> names = new ArrayList<>();
        StringBuilder deltas = new StringBuilder();
        JsonNode completed = null;
        int lastSequence = -1;
        for (String line : streamed.body().split("\n")) {
            if (line.startsWith("event: ")) {
                names.add(line.substring(7));
            } else if (line.startsWith("data: ")) {
                JsonNode e = JSON.readTree(line.substring(6));
                assertEquals(names.get(names.size() - 1), e.path("type").asText());
                assertEquals(lastSequence + 1, e.path("sequence_number").asInt(), "numbered in order");
                lastSequence = e.path("sequence_number").asInt();
                deltas.append(e.path("type").asText().equals("response.output_text.delta") ? e.path("delta").asText() : "");
                if (e.path("type").asText().equals("response.completed")) {
                    completed = e.path("response");
                }
            }
        }
        assertEquals(List.of("response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"),
                names.subList(0, 4));
        assertEquals(List.of("response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"),
                names.subList(names.size() - 4, names.size()));
        assertEquals(8, names.stream().filter("response.output_text.delta"::equals).count());
        assertEquals(deltas.toString(), completed.path("output_text").asText());
        assertEquals(8, completed.path("usage").path("output_tokens").asInt(), completed.toString());
        assertEquals(200, send("GET", "/v1/responses/" + completed.path("id").asText(), null).statusCode(), "kept when it ended");
    }

    @Test
    void modelRunnersMountsAndRefusals() throws Exception {
        for (String path : List.of("/responses", "/engines/responses", "/engines/v1/responses", "/engines/sim/v1/responses")) {
            assertEquals(200, send("POST", path, "{\"model\":\"sim/fast\",\"input\":\"hi\"}").statusCode(), path);
        }
        HttpResponse<String> missing = send("POST", "/v1/responses", "{\"model\":\"nope\",\"input\":\"hi\"}");
        assertEquals(404, missing.statusCode());
        assertTrue(JSON.readTree(missing.body()).path("error").has("message"), missing.body());
        HttpResponse<String> tool = send("POST", "/v1/responses", "{\"model\":\"sim/fast\",\"input\":\"hi\",\"tools\":[{\"type\":\"web_search\"}]}");
        assertEquals(400, tool.statusCode());
        assertTrue(tool.body().contains("web_search"), tool.body());
        assertEquals(400, send("POST", "/v1/responses", "{\"model\":\"sim/fast\",\"input\":\"hi\",\"previous_response_id\":\"resp_x\"}").statusCode());
        assertEquals(404, send("GET", "/v1/responses/resp_nope", null).statusCode());
    }
}
