package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llmrt.runtime.gguf.TinyLlamaModel;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * How long a 500 MB model takes to reach a node from the registry, and from a peer that holds it,
 * on loopback, side by side in one run: a node pulls it from a real docker-registry, then a second
 * node pulls the same reference, which it takes from the first node. The file is a tiny GGUF
 * followed by random bytes to 500 MB (what moves is bytes; nothing runs it). Prints figures, asserts
 * only that each transfer happened from the intended source.
 *
 * <p>A benchmark, not part of the test run:
 * {@code mvn -B -pl deploy -am verify -Dtest=ModelTransferBench -Dsurefire.failIfNoSpecifiedTests=false
 * -Dtest.argLine=-Xss1m} (the tests' C1-only JIT flag would make hashing the bottleneck).
 */
class ModelTransferBench {
    private static final long SIZE = 500L * 1000 * 1000;
    private static final int ROUNDS = 3;

    @Test
    void registryVersusPeer() throws Exception {
        Path work = Files.createTempDirectory("llmrt-transfer-bench");
        try (OciRegistry registry = OciRegistry.start()) {
            Path file = work.resolve("big.gguf");
            try (OutputStream out = Files.newOutputStream(file)) {
                byte[] head = TinyLlamaModel.generate(TinyLlamaModel.Shape.DEFAULT).toBytes();
                out.write(head);
                Random rnd = new Random(1);
                byte[] chunk = new byte[1 << 20];
                for (long written = head.length; written < SIZE; written += chunk.length) {
                    rnd.nextBytes(chunk);
                    out.write(chunk, 0, (int) Math.min(chunk.length, SIZE - written));
                }
            }
            List<long[]> rounds = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                String ref = registry.ref("bench/big:" + round);
                assertEquals(0, Main.commandLine().execute("models", "push", "--gguf", file.toString(), ref));
                try (InJvmCluster cluster = new InJvmCluster("llmrt.models = [ { name = \"m\", backend = \"sim\" } ]")) {
                    String a = "http://127.0.0.1:" + cluster.start("llmrt.store.dir = \"" + work.resolve("a" + round) + "\"").port();
                    String b = "http://127.0.0.1:" + cluster.start("llmrt.store.dir = \"" + work.resolve("b" + round) + "\"").port();
                    long fromRegistry = pull(a, ref);
                    // the second node's gateway knows the model (and so which node holds its file) before it pulls
                    eventually(Duration.ofSeconds(10), () -> assertEquals(200, get(b, "/models/" + ref)));
                    long fromPeer = pull(b, ref);
                    assertEquals(1, fetches(b, "peer"), "the second node took the file from its peer");
                    rounds.add(new long[] {fromRegistry, fromPeer});
                    System.out.printf(Locale.ROOT, "round %d: 500 MB from the registry %d ms, from a peer %d ms (%.2fx)%n",
                            round + 1, fromRegistry, fromPeer, (double) fromRegistry / fromPeer);
                }
            }
            long[] registryMs = rounds.stream().mapToLong(r -> r[0]).sorted().toArray();
            long[] peerMs = rounds.stream().mapToLong(r -> r[1]).sorted().toArray();
            System.out.printf(Locale.ROOT, "median of %d: registry %d ms (%.0f MB/s), peer %d ms (%.0f MB/s); peer/registry time %.2f%n",
                    ROUNDS, registryMs[ROUNDS / 2], SIZE / 1e3 / registryMs[ROUNDS / 2], peerMs[ROUNDS / 2],
                    SIZE / 1e3 / peerMs[ROUNDS / 2], (double) peerMs[ROUNDS / 2] / registryMs[ROUNDS / 2]);
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static int get(String base, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static long fetches(String base, String source) throws Exception {
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^llmrt_model_fetches_total\\{[^}]*source=\"" + source + "\"[^}]*\\} ([0-9.]+)").matcher(metrics);
        return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
    }

    /** Pulls through the node's gateway; the time until it answered. */
    private static long pull(String base, String ref) throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/models/create"))
                .timeout(Duration.ofMinutes(5)).POST(HttpRequest.BodyPublishers.ofString("{\"from\":\"" + ref + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(200, r.statusCode(), r.body());
        return ms;
    }
}
