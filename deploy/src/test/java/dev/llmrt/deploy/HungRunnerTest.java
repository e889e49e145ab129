package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static dev.llmrt.testing.Eventually.eventuallyGet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A ready runner that stops answering (SIGSTOP: alive and silent, as a deadlocked backend or a wedged
 * GPU driver looks) is found by its health checks, killed and restarted: the stream it was producing
 * ends with an SSE error event, a request sent after the stop is answered by the restarted runner,
 * and the model serves again. Prints the detection time and how long the request waited.
 */
class HungRunnerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CONFIG = """
            llmrt.models = [ { name = "m", backend = sim, keep-alive = "-1",
              runtime-flags = ["--ttft-ms=10", "--tpot-ms=100", "--max-tokens=60"] } ]
            llmrt.agent.health-check { interval = 500ms, timeout = 2s, failures = 3, stream-idle-timeout = 60s }
            llmrt.agent.restart-backoff.min = 200ms
            """;
    private static final String CHAT = "{\"model\":\"m\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String STREAM = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private static JsonNode runner(String base) throws Exception {
        JsonNode status = JSON.readTree(TestHttp.send(base, "GET", "/status", null).body());
        for (JsonNode r : status.path("runners")) {
            if (r.path("model").asText().equals("m")) {
                return r;
            }
        }
        return null;
    }


    @Test
    void aHungRunnerIsKilledAndReplacedAndItsRequestsAreAnswered() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster(CONFIG)) {
            String base = TestHttp.local(cluster.start("").port());
            assertEquals(200, TestHttp.send(base, "POST", "/v1/chat/completions", CHAT).statusCode());
            // the status lists the node's agent once the receptionist has told the gateway of it
            JsonNode before = eventuallyGet(Duration.ofSeconds(30), "the runner in /status", () -> {
                JsonNode r = runner(base);
                return r != null && r.path("pid").asLong() > 0 ? r : null;
            });
            long pid = before.path("pid").asLong();

            // a stream under way when its runner hangs
            HttpResponse<Stream<String>> stream = TestHttp.CLIENT.send(TestHttp.request(base, "POST", "/v1/chat/completions",
                    STREAM).build(), HttpResponse.BodyHandlers.ofLines());
            assertEquals(200, stream.statusCode());
            Iterator<String> lines = stream.body().iterator();
            String first = "";
            while (lines.hasNext() && !first.startsWith("data: ")) {
                first = lines.next();
            }
            assertTrue(first.startsWith("data: {"), "the stream started: " + first);

            ServeJvm.signal("STOP", pid);
            long stoppedAt = System.nanoTime();
            CompletableFuture<HttpResponse<String>> after = TestHttp.CLIENT.sendAsync(
                    TestHttp.request(base, "POST", "/v1/chat/completions", CHAT).build(), HttpResponse.BodyHandlers.ofString());
            String last = first;
            while (lines.hasNext()) {
                String l = lines.next();
                if (l.startsWith("data: ")) {
                    last = l;
                }
            }
            long streamEndedMs = (System.nanoTime() - stoppedAt) / 1_000_000;
            assertTrue(last.contains("\"error\""), "the cut stream ends with an error event, not " + last);

            HttpResponse<String> answered = after.get(120, TimeUnit.SECONDS);
            long answeredMs = (System.nanoTime() - stoppedAt) / 1_000_000;
            assertEquals(200, answered.statusCode(), "sent again to the restarted runner: " + answered.body());
            eventually(Duration.ofSeconds(30), "the hung process was killed", () -> ProcessHandle.of(pid).isEmpty()
                    || !ProcessHandle.of(pid).get().isAlive());
            JsonNode now = eventuallyGet(Duration.ofSeconds(30), "the restarted runner ready", () -> {
                JsonNode r = runner(base);
                return r != null && r.path("state").asText().equals("ready") && r.path("pid").asLong() != pid ? r : null;
            });
            assertNotEquals(pid, now.path("pid").asLong(), now.toString());
            assertTrue(now.path("restarts").asInt() >= 1, now.toString()); // more only if a loaded machine stalls it again
            assertTrue(now.path("last_error").asText().contains("stopped answering"), now.toString());
            assertEquals(200, TestHttp.send(base, "POST", "/v1/chat/completions", CHAT).statusCode());
            long detectionMs = Duration.ofMillis(500).plus(Duration.ofSeconds(6)).toMillis();
            System.out.printf("hung runner: health check every 500 ms, 3 failures of 2 s (detection at most %d ms); "
                            + "the stream under way ended with an error event %d ms after the stop; a request sent after the "
                            + "stop was answered 200 by the restarted runner %d ms after it%n", detectionMs, streamEndedMs,
                    answeredMs);
            assertFalse(answeredMs > 60_000, "a request waited " + answeredMs + " ms on a hung runner");
        }
    }

}
