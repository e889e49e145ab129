package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Load balancing over replicas, in three nodes of one JVM: agents A and B (one GPU each) run the
 * replicas, C is a gateway only. Sim replicas run at most 2 requests at once; node A runs model
 * 'skew' 20 times slower per token than node B does.
 */
class RoutingClusterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String COMMON = """
            llmrt.models = [
              { name = "single", backend = sim, keep-alive = "-1", max-concurrency-per-replica = 2,
                runtime-flags = ["--max-seqs=2", "--ttft-ms=20", "--tpot-ms=20", "--max-tokens=10", "--vram-mb=1024"] }
              { name = "pair", backend = sim, keep-alive = "-1", replicas = 2, max-concurrency-per-replica = 2,
                runtime-flags = ["--max-seqs=2", "--ttft-ms=20", "--tpot-ms=20", "--max-tokens=10", "--vram-mb=1024"] }
              { name = "skew", backend = sim, keep-alive = "-1", replicas = 2,
                runtime-flags = ["--max-seqs=8", "--ttft-ms=5", "--tpot-ms=2", "--max-tokens=10", "--vram-mb=1024"] }
              { name = "elastic", backend = sim, keep-alive = "-1", min-replicas = 1, max-replicas = 2,
                max-concurrency-per-replica = 2,
                runtime-flags = ["--max-seqs=2", "--ttft-ms=10", "--tpot-ms=4", "--max-tokens=10", "--vram-mb=1024"] }
              { name = "limited", backend = sim, keep-alive = "-1", max-concurrency-per-replica = 1, max-queue-length = 1,
                max-queue-wait = 2s, runtime-flags = ["--max-seqs=1", "--ttft-ms=6000", "--max-tokens=1", "--vram-mb=512"] }
            ]
            """;
    private static final InJvmCluster cluster = new InJvmCluster(COMMON);
    private static final List<LlmrtNode.Started> started = cluster.started;
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static String slowNode;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster.start("""
                pekko.cluster.roles = [agent]
                llmrt.agent.gpus = [ { name = L4, memory = 24GiB } ]
                llmrt.agent.extra-runtime-flags { skew = ["--tpot-ms=40"] }
                """);
        slowNode = cluster.seed();
        cluster.start("pekko.cluster.roles = [agent]\nllmrt.agent.gpus = [ { name = L4, memory = 24GiB } ]");
        cluster.start("""
                pekko.cluster.roles = [gateway]
                llmrt.agent.gpus = []
                llmrt.gateway.routing.refresh-interval = 200ms
                llmrt.gateway.routing.elastic { scale-up-outstanding = 2, scale-up-after = 500ms, scale-down-after = 2s }
                """);
        eventually(Duration.ofSeconds(30), "the agents' capacity reached the gateway",
                () -> started.get(2).capacity().nodes().size() == 2);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        cluster.close();
    }

    private static HttpResponse<String> chat(String model) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + started.get(2).port() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The gateway's routing lane of the model, from /status. */
    private static JsonNode lane(String model) throws Exception {
        JsonNode status = JSON.readTree(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + started.get(2).port()
                + "/status")).build(), HttpResponse.BodyHandlers.ofString()).body());
        for (JsonNode l : status.get("routing")) {
            if (l.get("model").asText().equals(model)) {
                return l;
            }
        }
        throw new AssertionError("no lane for " + model + " in " + status.get("routing"));
    }

    /** Waits until every replica of the model in use is ready. */
    private static void warm(String model) throws Exception {
        assertEquals(200, chat(model).statusCode());
        eventually(Duration.ofSeconds(30), () -> {
            JsonNode l = lane(model);
            for (int i = 0; i < l.get("replicas_in_use").asInt(); i++) {
                assertTrue(l.get("replicas").get(i).get("ready").asBoolean(), model + " replica not ready: " + l);
            }
        });
    }

    /** {@code requests} chats from {@code clients} threads; returns requests per second. */
    private static double load(String model, int clients, int requests) throws Exception {
        AtomicInteger left = new AtomicInteger(requests);
        AtomicInteger failed = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long t0 = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            done.add(pool.submit(() -> {
                while (left.getAndDecrement() > 0) {
                    try {
                        if (chat(model).statusCode() != 200) {
                            failed.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                }
            }));
        }
        for (Future<?> f : done) {
            f.get(120, TimeUnit.SECONDS);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        pool.shutdown();
        assertEquals(0, failed.get(), "requests of " + model + " failed");
        return requests / seconds;
    }

    private static long[] routedPerReplica(String model) throws Exception {
        JsonNode replicas = lane(model).get("replicas");
        long[] out = new long[replicas.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = replicas.get(i).get("routed").asLong();
        }
        return out;
    }

    @Test
    void twoReplicasShareUniformLoadEvenlyAndServeNearlyTwiceAsMuch() throws Exception {
        warm("single");
        warm("pair");
        long[] before = routedPerReplica("pair");
        List<Double> single = new ArrayList<>();
        List<Double> pair = new ArrayList<>();
        for (int round = 0; round < 2; round++) { // alternated, so both see the same machine
            single.add(load("single", 8, 48));
            pair.add(load("pair", 8, 96));
        }
        long[] after = routedPerReplica("pair");
        long a = after[0] - before[0];
        long b = after[1] - before[1];
        double share = (double) a / (a + b);
        double ratio = pair.stream().mapToDouble(Double::doubleValue).average().orElseThrow()
                / single.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        System.out.printf("routing: 1 replica %s req/s, 2 replicas %s req/s (ratio %.2f); split %d / %d (%.1f%% / %.1f%%)%n",
                single, pair, ratio, a, b, 100 * share, 100 * (1 - share));
        assertTrue(Math.abs(share - 0.5) <= 0.125, "each replica within ±25% of its even share: " + a + " vs " + b);
        // requests take ~220 ms of which little is CPU, so the ratio shows the replicas: 1.99 at a low load
        // average, 1.76 once at 58; one replica used would give about 1.0, so 1.6 tells them apart with room
        assertTrue(ratio >= 1.6, "2 replicas serve at least 1.6x what 1 does: " + ratio);
    }

    @Test
    void aSlowReplicaGetsLessTrafficThanAFastOne() throws Exception {
        warm("skew");
        long[] before = routedPerReplica("skew");
        load("skew", 8, 300);
        long[] after = routedPerReplica("skew");
        JsonNode replicas = lane("skew").get("replicas");
        int slow = replicas.get(0).get("node").asText().equals(slowNode) ? 0 : 1;
        long slowCount = after[slow] - before[slow];
        long fastCount = after[1 - slow] - before[1 - slow];
        System.out.printf("routing: slow replica (node A, 40 ms/token) got %d, fast replica (2 ms/token) got %d%n",
                slowCount, fastCount);
        assertTrue(slowCount * 2 < fastCount, "the slow replica got " + slowCount + ", the fast " + fastCount);
    }

    @Test
    void pastItsQueueLengthA429AndPastItsQueueWaitA503WithRetryAfter() throws Exception {
        warm("limited");
        CompletableFuture<HttpResponse<String>> running = CompletableFuture.supplyAsync(() -> send("limited"));
        eventually(Duration.ofSeconds(10), () -> assertEquals(1, lane("limited").get("replicas").get(0).get("outstanding").asInt()));
        CompletableFuture<HttpResponse<String>> waiting = CompletableFuture.supplyAsync(() -> send("limited"));
        eventually(Duration.ofSeconds(10), () -> assertEquals(1, lane("limited").get("queued").asInt()));

        HttpResponse<String> full = chat("limited");
        assertEquals(429, full.statusCode());
        assertEquals("1", full.headers().firstValue("retry-after").orElse(""));
        assertEquals("{\"error\":{\"message\":\"model 'limited' already has 1 waiting for a replica, its limit "
                + "(max-queue-length = 1); retry later\",\"type\":\"rate_limit_error\",\"code\":\"queue_full\"}}", full.body());

        HttpResponse<String> timedOut = waiting.get(10, TimeUnit.SECONDS);
        assertEquals(503, timedOut.statusCode());
        assertEquals("1", timedOut.headers().firstValue("retry-after").orElse(""));
        assertEquals("{\"error\":{\"message\":\"model 'limited' had no free replica within its queue wait "
                + "(max-queue-wait = 2s); retry later\",\"type\":\"server_error\",\"code\":\"queue_timeout\"}}", timedOut.body());
        assertEquals(200, running.get(10, TimeUnit.SECONDS).statusCode(), "the one running was not disturbed");
    }

    @Test
    void anElasticModelGrowsUnderLoadAndShrinksWhenIdle() throws Exception {
        warm("elastic");
        assertEquals(1, lane("elastic").get("replicas_in_use").asInt());
        CompletableFuture<Double> loaded = CompletableFuture.supplyAsync(() -> {
            try {
                return load("elastic", 8, 400);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        eventually(Duration.ofSeconds(30), () -> {
            JsonNode l = lane("elastic");
            assertEquals(2, l.get("replicas_in_use").asInt(), "a second replica under load");
            assertTrue(l.get("replicas").get(1).get("routed").asLong() > 0, "and it takes requests: " + l);
        });
        double rps = loaded.get(120, TimeUnit.SECONDS);
        // retiring a replica is its idle time, then draining it, then unloading its runner: at a load
        // average of 59 that took more than 30 s
        eventually(Duration.ofSeconds(90), () -> {
            assertEquals(1, lane("elastic").get("replicas_in_use").asInt(), "idle: back to its minimum");
            assertEquals(1, runnersOf("elastic"), "the retired replica's runner was unloaded");
        });
        System.out.printf("routing: elastic model grew to 2 replicas under load (%.1f req/s) and shrank to 1 when idle%n", rps);
    }

    private static int runnersOf(String model) throws Exception {
        JsonNode status = JSON.readTree(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + started.get(2).port()
                + "/status")).build(), HttpResponse.BodyHandlers.ofString()).body());
        int n = 0;
        for (JsonNode r : status.get("runners")) {
            if (r.get("model").asText().equals(model)) {
                n++;
            }
        }
        return n;
    }

    private static HttpResponse<String> send(String model) {
        try {
            return chat(model);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
