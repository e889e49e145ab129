package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Any answer one node gives crosses to a gateway on another JVM: a 35 MB embeddings answer (400
 * inputs at 4,096 dimensions) comes back whole through a gateway-only node, as it does from the
 * agent's own gateway, and an answer over the configured limit gets a clear 502 on both. Prints the
 * time of each path, side by side.
 */
class LargeAnswersTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CATALOG = """
            llmrt.models = [ { name = "emb", backend = sim, keep-alive = "-1", runtime-flags = ["--embedding-dim=4096"] } ]
            """;

    private static String embeddings(int inputs) {
        StringBuilder b = new StringBuilder("{\"model\":\"emb\",\"input\":[");
        for (int i = 0; i < inputs; i++) {
            b.append(i == 0 ? "" : ",").append("\"input number ").append(i).append("\"");
        }
        return b.append("]}").toString();
    }

    private static long timed(String base, String body, int inputs) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = TestHttp.send(base, "POST", "/v1/embeddings", body);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(200, r.statusCode(), () -> r.body().substring(0, Math.min(500, r.body().length())));
        JsonNode data = JSON.readTree(r.body()).path("data");
        assertEquals(inputs, data.size());
        assertEquals(4096, data.get(inputs - 1).path("embedding").size());
        return ms;
    }

    @Test
    void aLargeAnswerCrossesNodesWholeAndOneOverTheLimitGetsItsError() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-large");
        // the agent, a JVM of its own: answers over 40 MiB are refused where they are read
        try (ServeJvm agent = ServeJvm.start(dir, "agent", CATALOG + "llmrt.agent.runner-client.max-response-bytes = 40m\n",
                null)) {
            String local = agent.base();
            eventually(Duration.ofSeconds(120), () -> assertEquals(200,
                    TestHttp.send(local, "POST", "/v1/embeddings", "{\"model\":\"emb\",\"input\":\"hi\"}").statusCode(),
                    "the agent JVM serves; log in " + agent.log));
            try (InJvmCluster cluster = new InJvmCluster(CATALOG)) {
                String remote = TestHttp.local(cluster.start("pekko.cluster.roles = [gateway]\npekko.cluster.seed-nodes = [\""
                        + agent.address() + "\"]").port());
                eventually(Duration.ofSeconds(60), () -> assertEquals(200,
                        TestHttp.send(remote, "POST", "/v1/embeddings", "{\"model\":\"emb\",\"input\":\"hi\"}").statusCode()));

                String body = embeddings(400);
                HttpResponse<String> sized = TestHttp.send(remote, "POST", "/v1/embeddings", body);
                assertEquals(200, sized.statusCode());
                long bytes = sized.body().length();
                assertTrue(bytes > 30_000_000, "a 35 MB answer, not " + bytes);
                List<Long> oneNode = new ArrayList<>();
                List<Long> crossNode = new ArrayList<>();
                for (int round = 0; round < 3; round++) { // side by side, alternated
                    oneNode.add(timed(local, body, 400));
                    crossNode.add(timed(remote, body, 400));
                }
                long one = oneNode.stream().sorted().toList().get(1);
                long cross = crossNode.stream().sorted().toList().get(1);
                System.out.printf("large answers: %d bytes (400 embeddings of 4096): one node %d ms, through a gateway on "
                        + "another JVM %d ms (median of 3 each, alternated): %.2fx%n", bytes, one, cross, (double) cross / one);

                String over = embeddings(500);
                for (String base : List.of(local, remote)) {
                    HttpResponse<String> r = TestHttp.send(base, "POST", "/v1/embeddings", over);
                    assertEquals(502, r.statusCode(), r.body());
                    assertTrue(r.body().contains("41943040"), "names the limit: " + r.body());
                }
            }
        }
    }
}
