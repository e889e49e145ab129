package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmrt.runtime.gguf.TinyLlamaModel;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Ollama's API on the gateway, as an Ollama client (Open WebUI, the ollama CLI) uses it: chat and
 * generate streamed as NDJSON by default or as one object, options mapped, keep-alive held
 * cluster-wide, an empty prompt with keep-alive 0 unloading, embeddings, and the model lists with
 * what a GGUF file says about itself.
 */
class OllamaApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static InJvmCluster cluster;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        Path gguf = Files.createTempDirectory("llmrt-ollama").resolve("tiny.gguf");
        Files.write(gguf, TinyLlamaModel.generate(TinyLlamaModel.Shape.DEFAULT).toBytes());
        cluster = new InJvmCluster("""
                llmrt.models = [
                  { name = "chatty", backend = "sim", runtime-flags = ["--max-tokens=8"] }
                  { name = "tiny-gguf", backend = "llama.cpp", model = "%s" }
                ]
                """.formatted(gguf));
        port = cluster.start("").port();
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    private static HttpResponse<String> send(String method, String path, String body) throws Exception {
        return TestHttp.send(TestHttp.local(port), method, path, body, "User-Agent", "ollama-test");
    }

    private static List<JsonNode> lines(String ndjson) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : ndjson.split("\n")) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    @Test
    void chatStreamsNdjsonByDefaultAndAnswersOnceWithStreamFalse() throws Exception {
        HttpResponse<String> streamed = send("POST", "/api/chat",
                "{\"model\":\"chatty\",\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}");
        assertEquals(200, streamed.statusCode(), streamed.body());
        assertTrue(streamed.headers().firstValue("Content-Type").orElse("").startsWith("application/x-ndjson"));
        List<JsonNode> chunks = lines(streamed.body());
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            assertFalse(c.path("done").asBoolean(), c.toString());
            assertEquals("chatty", c.path("model").asText());
            assertEquals("assistant", c.path("message").path("role").asText());
            assertTrue(c.path("created_at").asText().endsWith("Z"), c.toString());
            text.append(c.path("message").path("content").asText());
        }
        JsonNode last = chunks.get(chunks.size() - 1);
        assertTrue(last.path("done").asBoolean(), last.toString());
        assertEquals("stop", last.path("done_reason").asText());
        assertEquals(8, last.path("eval_count").asInt(), "from the usage the gateway asked for: " + last);
        assertEquals(2, last.path("prompt_eval_count").asInt());
        assertEquals(8, text.toString().trim().split(" ").length, text.toString());

        HttpResponse<String> once = send("POST", "/api/chat", "{\"model\":\"chatty:latest\",\"stream\":false,"
                + "\"options\":{\"num_predict\":3,\"temperature\":0.2},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, once.statusCode(), once.body());
        JsonNode answer = JSON.readTree(once.body());
        assertTrue(answer.path("done").asBoolean());
        assertEquals("length", answer.path("done_reason").asText(), "num_predict became max_tokens");
        assertEquals(3, answer.path("message").path("content").asText().trim().split(" ").length, once.body());

        // the recorder shows the translated request, with model-runner's Ollama origin
        JsonNode records = JSON.readTree(send("GET", "/engines/requests?model=chatty", null).body()).get(0).path("records");
        JsonNode rec = records.get(records.size() - 1);
        assertEquals("ollama/completion", rec.path("origin").asText(), rec.toString());
        assertEquals(3, JSON.readTree(rec.path("request").asText()).path("max_tokens").asInt());
    }

    @Test
    void generateStreamsResponsesAndAnEmptyPromptLoadsOrUnloads() throws Exception {
        HttpResponse<String> one = send("POST", "/api/generate", "{\"model\":\"chatty\",\"prompt\":\"say it\",\"stream\":false}");
        assertEquals(200, one.statusCode(), one.body());
        assertEquals(8, JSON.readTree(one.body()).path("response").asText().trim().split(" ").length, one.body());
        List<JsonNode> chunks = lines(send("POST", "/api/generate", "{\"model\":\"chatty\",\"prompt\":\"say it\"}").body());
        assertTrue(chunks.get(0).has("response") && !chunks.get(0).path("done").asBoolean(), chunks.toString());
        assertTrue(chunks.get(chunks.size() - 1).path("done").asBoolean());

        // keep_alive is held cluster-wide, as _configure holds it
        assertEquals("{}", send("POST", "/api/generate", "{\"model\":\"chatty\",\"prompt\":\"\",\"keep_alive\":\"1h30m\"}").body());
        eventually(Duration.ofSeconds(20), () -> {
            JsonNode config = JSON.readTree(send("GET", "/engines/_configure?model=chatty", null).body());
            assertEquals("1h30m0s", config.path(0).path("Config").path("keep_alive").asText(), config.toString());
            JsonNode ps = JSON.readTree(send("GET", "/api/ps", null).body()).path("models");
            assertEquals(1, ps.size(), ps.toString());
            assertEquals("chatty", ps.get(0).path("name").asText());
            assertTrue(ps.get(0).has("expires_at"), "the empty prompt loaded it, idle with a keep-alive: " + ps);
        });
        assertEquals("{}", send("POST", "/api/generate", "{\"model\":\"chatty\",\"keep_alive\":0}").body());
        eventually(Duration.ofSeconds(20), () ->
                assertEquals(0, JSON.readTree(send("GET", "/api/ps", null).body()).path("models").size(), "unloaded"));
    }

    @Test
    void embeddingsInBothForms() throws Exception {
        JsonNode embed = JSON.readTree(send("POST", "/api/embed", "{\"model\":\"chatty\",\"input\":[\"a b\",\"c\"]}").body());
        assertEquals(2, embed.path("embeddings").size(), embed.toString());
        assertEquals(64, embed.path("embeddings").get(0).size(), "the sim's default dimension");
        assertEquals("chatty", embed.path("model").asText());
        JsonNode legacy = JSON.readTree(send("POST", "/api/embeddings", "{\"model\":\"chatty\",\"prompt\":\"a b\"}").body());
        assertEquals(64, legacy.path("embedding").size(), legacy.toString());
    }

    @Test
    void modelListsVersionAndErrors() throws Exception {
        assertTrue(JSON.readTree(send("GET", "/api/version", null).body()).path("version").isTextual());
        JsonNode tags = JSON.readTree(send("GET", "/api/tags", null).body()).path("models");
        assertEquals(2, tags.size(), tags.toString());
        JsonNode gguf = tags.get(1);
        assertEquals("tiny-gguf", gguf.path("name").asText());
        assertTrue(gguf.path("size").asLong() > 0);
        assertTrue(gguf.path("digest").asText().startsWith("sha256:"));
        assertEquals("gguf", gguf.path("details").path("format").asText(), gguf.toString());
        assertEquals("llama", gguf.path("details").path("family").asText());
        assertFalse(gguf.path("details").path("parameter_size").asText().isEmpty(), gguf.toString());
        assertFalse(gguf.path("details").path("quantization_level").asText().isEmpty(), gguf.toString());

        JsonNode show = JSON.readTree(send("POST", "/api/show", "{\"model\":\"tiny-gguf\"}").body());
        assertEquals("llama", show.path("details").path("family").asText(), show.toString());

        HttpResponse<String> missing = send("POST", "/api/chat", "{\"model\":\"nope\",\"messages\":[]}");
        assertEquals(404, missing.statusCode());
        assertTrue(JSON.readTree(missing.body()).path("error").asText().contains("nope"), missing.body());
        HttpResponse<String> broken = send("POST", "/api/generate", "{oops");
        assertEquals(400, broken.statusCode());
        assertTrue(JSON.readTree(broken.body()).has("error"), broken.body());
        // pull and delete go through the model store (ModelRegistryTest pulls from a real registry)
        HttpResponse<String> badPull = send("POST", "/api/pull", "{\"model\":\"Not A Reference!!\",\"stream\":false}");
        assertEquals(400, badPull.statusCode(), badPull.body());
        assertTrue(JSON.readTree(badPull.body()).path("error").asText().contains("Invalid model reference"), badPull.body());
        assertEquals(404, send("DELETE", "/api/delete", "{\"model\":\"never-pulled\"}").statusCode());

        // model-runner's dmr object in OpenAI's model list, from the same header
        JsonNode openAi = JSON.readTree(send("GET", "/v1/models/tiny-gguf", null).body());
        assertEquals("llama", openAi.path("dmr").path("architecture").asText(), openAi.toString());
        assertTrue(openAi.path("dmr").path("context_window").asLong() > 0, openAi.toString());
        assertTrue(openAi.path("dmr").path("size").asText().endsWith("MiB"), openAi.toString());
        assertEquals(gguf.path("details").path("parameter_size").asText(), openAi.path("dmr").path("parameters").asText());
    }
}
