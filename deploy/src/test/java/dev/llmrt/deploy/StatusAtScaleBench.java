package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * What {@code GET /status} costs on a cluster of 10 nodes in one JVM with 100 replicas running (10
 * models of 10 replicas, real sim runner processes): it must list every node and runner, and it
 * prints how long it takes (a figure, not a timed assertion).
 *
 * <p>A benchmark, not part of the test run (100 JVMs take minutes to start on 2 cores):
 * {@code mvn -B -pl deploy -am verify -Dtest=StatusAtScaleBench -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class StatusAtScaleBench {
    private static final int NODES = 10;
    private static final int MODELS = 10;
    private static final int REPLICAS = 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
        return TestHttp.send(TestHttp.local(port), method, path, body);
    }

    @Test
    void statusListsEveryNodeAndRunnerOfTenNodesAndAHundredReplicas() throws Exception {
        StringBuilder catalog = new StringBuilder("llmrt.models = [\n");
        for (int m = 0; m < MODELS; m++) {
            catalog.append("  { name = \"m").append(m).append("\", backend = \"sim\", replicas = ").append(REPLICAS)
                    .append(", keep-alive = \"-1\", runtime-flags = [\"--ram-mb=16\"] }\n");
        }
        catalog.append("]\nllmrt.agent.model-ram = 4GiB\n");
        try (InJvmCluster cluster = new InJvmCluster(catalog.toString())) {
            long startAt = System.nanoTime();
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < NODES; i++) {
                ports.add(cluster.start("").port());
            }
            int port = ports.get(0);
            eventually(Duration.ofSeconds(60), () ->
                    assertEquals(NODES, JSON.readTree(send(port, "GET", "/status", null).body()).path("nodes").size()));
            // a request per model: its lane then starts every replica it has, one per node
            for (int m = 0; m < MODELS; m++) {
                assertEquals(200, send(ports.get(m % NODES), "POST", "/v1/chat/completions",
                        "{\"model\":\"m" + m + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1}").statusCode());
            }
            eventually(Duration.ofSeconds(240), () -> {
                JsonNode runners = JSON.readTree(send(port, "GET", "/status", null).body()).path("runners");
                long ready = 0;
                for (JsonNode r : runners) {
                    ready += r.path("state").asText().equals("ready") ? 1 : 0;
                }
                assertEquals(MODELS * REPLICAS, ready, "replicas ready");
            });
            double upSeconds = (System.nanoTime() - startAt) / 1e9;

            int rounds = 30;
            double[] ms = new double[rounds];
            int bytes = 0;
            for (int i = 0; i < rounds; i++) {
                long t0 = System.nanoTime();
                HttpResponse<String> r = send(ports.get(i % NODES), "GET", "/status", null);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                assertEquals(200, r.statusCode());
                JsonNode status = JSON.readTree(r.body());
                assertEquals(NODES, status.path("nodes").size());
                assertEquals(MODELS * REPLICAS, status.path("runners").size());
                bytes = r.body().length();
            }
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "GET /status, %d nodes in one JVM, %d replicas ready (up in %.0f s), %d calls: "
                            + "p50 %.1f ms, p90 %.1f ms, max %.1f ms, %d KiB each; load average %.1f%n",
                    NODES, MODELS * REPLICAS, upSeconds, rounds, ms[rounds / 2], ms[rounds * 9 / 10], ms[rounds - 1], bytes / 1024,
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }
}
