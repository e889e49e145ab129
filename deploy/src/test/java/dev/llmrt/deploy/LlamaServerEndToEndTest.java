package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventuallyGet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.runtime.gguf.TinyLlamaModel;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real llama-server processes behind the gateway, serving a model the test generates. Needs the
 * binary: deploy/scripts/install-llama-server.sh builds it (the test command runs it first).
 */
class LlamaServerEndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static LlmrtNode node;
    private static LlmrtNode.Started started;
    private static String base;
    private static Path model;

    @BeforeAll
    static void start() throws Exception {
        Optional<Path> binary = LlamaCppBackend.locate("");
        assertTrue(binary.isPresent() && Files.isExecutable(binary.get()),
                "llama-server not found: " + LlamaCppBackend.INSTALL_HINT);
        model = Files.createTempFile("tiny-llama", ".gguf");
        Files.write(model, TinyLlamaModel.generate(TinyLlamaModel.Shape.DEFAULT).toBytes());
        String models = """
                llmrt.agent.restart-backoff.min = 100ms
                llmrt.models = [
                  { name = "tiny", backend = "llama.cpp", model = "%s", context-size = 1024, runtime-flags = ["-np", "2", "-t", "1"] }
                ]
                """.formatted(model);
        Config config = ConfigFactory.parseString(models).withFallback(ServeCommand.load(null, "127.0.0.1", 0, null));
        node = LlmrtNode.start(config);
        started = node.started().toCompletableFuture().get(60, TimeUnit.SECONDS);
        base = "http://127.0.0.1:" + started.port();
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) {
            node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertEquals(List.of(), ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList());
        }
        if (model != null) {
            Files.deleteIfExists(model);
        }
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return TestHttp.send(base, "POST", path, body);
    }

    private static final String CHAT = "{\"model\":\"tiny\",\"temperature\":0,\"max_tokens\":12,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]";

    @Test
    void chatAsJsonIsPrintableAndDeterministic() throws Exception {
        HttpResponse<String> r = post("/engines/llama.cpp/v1/chat/completions", CHAT + "}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        String text = body.at("/choices/0/message/content").asText();
        assertEquals("tiny", body.get("model").asText());
        assertEquals("length", body.at("/choices/0/finish_reason").asText());
        assertEquals(12, body.at("/usage/completion_tokens").asInt());
        assertTrue(!text.isBlank() && text.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f), "printable: " + text);
        assertEquals(text, JSON.readTree(post("/v1/chat/completions", CHAT + "}").body()).at("/choices/0/message/content").asText());
    }

    @Test
    void chatStreamsAsServerSentEvents() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", CHAT + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, r.statusCode());
        List<String> events = r.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertEquals("[DONE]", events.get(events.size() - 1));
        StringBuilder text = new StringBuilder();
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode delta = JSON.readTree(e).at("/choices/0/delta/content");
            if (delta.isTextual()) {
                text.append(delta.asText());
            }
        }
        String whole = JSON.readTree(post("/v1/chat/completions", CHAT + "}").body()).at("/choices/0/message/content").asText();
        assertEquals(whole, text.toString(), "the stream carries the same tokens");
        assertEquals(12, JSON.readTree(events.get(events.size() - 2)).at("/usage/completion_tokens").asInt());
    }

    @Test
    void completionsAndEmbeddings() throws Exception {
        HttpResponse<String> c = post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"the time\",\"max_tokens\":5,\"temperature\":0}");
        assertEquals(200, c.statusCode(), c.body());
        assertEquals(5, JSON.readTree(c.body()).at("/usage/completion_tokens").asInt());
        HttpResponse<String> e = post("/v1/embeddings", "{\"model\":\"tiny\",\"input\":[\"hello\",\"world\"]}");
        assertEquals(200, e.statusCode(), e.body());
        JsonNode body = JSON.readTree(e.body());
        assertEquals(2, body.get("data").size());
        assertEquals(64, body.at("/data/0/embedding").size());
    }

    @Test
    void aKilledLlamaServerIsRestartedBySupervisor() throws Exception {
        assertEquals(200, post("/v1/chat/completions", CHAT + "}").statusCode());
        RunnerStatus before = runner("completion");
        assertTrue(before.pid() > 0);
        ProcessHandle.of(before.pid()).orElseThrow().destroyForcibly();
        long t0 = System.nanoTime();
        RunnerStatus after = eventuallyGet(Duration.ofSeconds(30), "a restarted, ready llama-server", () -> {
            RunnerStatus now = runner("completion");
            return now.pid() != before.pid() && now.phase() == RunnerStatus.Phase.READY ? now : null;
        });
        assertNotEquals(before.pid(), after.pid());
        assertTrue(after.restarts() >= 1);
        assertTrue(after.lastError().contains("llama.cpp terminated unexpectedly"), after.lastError());
        assertEquals(200, post("/v1/chat/completions", CHAT + "}").statusCode());
        System.out.printf("llama-server killed: runner ready again after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    private static RunnerStatus runner(String mode) throws Exception {
        NodeAgent.Runners runners = AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.agent(),
                NodeAgent.ListRunners::new, Duration.ofSeconds(5), node.system().scheduler()).toCompletableFuture().get();
        return runners.runners().stream().filter(r -> r.mode().equals(mode)).findFirst().orElseThrow();
    }
}
