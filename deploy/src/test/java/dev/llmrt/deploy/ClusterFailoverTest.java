package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The real start-up path: three separate JVMs ('llmrt serve') form a cluster by seed node on
 * loopback; a model served by one of the GPU nodes keeps being served after that node's JVM is
 * SIGKILLed (the split brain resolver downs it, Cluster Sharding places the model again).
 */
class ClusterFailoverTest {
    private static final List<Process> jvms = new ArrayList<>();
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private record Node(Process process, int httpPort) {}

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static Node start(Path dir, String name, String gpus, Integer seedPort, int clusterPort) throws Exception {
        Path config = dir.resolve(name + ".conf");
        Files.writeString(config, """
                llmrt.agent.gpus = %s
                llmrt.models = [ { name = "m10", backend = sim, keep-alive = "-1", runtime-flags = ["--vram-mb=10240"] } ]
                """.formatted(gpus));
        int http = freePort();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "serve", "--port", Integer.toString(http), "--cluster-port", Integer.toString(clusterPort),
                "--config", config.toString()));
        if (seedPort != null) {
            cmd.addAll(List.of("--seed-node", "pekko://llmrt@127.0.0.1:" + seedPort));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
        jvms.add(p);
        return new Node(p, http);
    }

    @AfterAll
    static void stopJvms() throws Exception {
        for (Process p : jvms) {
            p.destroy(); // SIGTERM: leave the cluster, reap runners
        }
        for (Process p : jvms) {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }

    private static int chat(Node via) {
        try {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + via.httpPort() + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"m10\",\"max_tokens\":1,\"messages\":[]}")).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    /** The node whose JVM runs the model's sim process. */
    private static int hostOf(List<Node> nodes) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).process().isAlive() && nodes.get(i).process().children().anyMatch(ProcessHandle::isAlive)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void aModelOnASigkilledNodeIsServedAgainFromAnotherNode() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-failover");
        int seedPort = freePort();
        List<Node> nodes = List.of(
                start(dir, "a", "[ { memory = 24GiB } ]", null, seedPort),
                start(dir, "b", "[ { memory = 24GiB } ]", seedPort, freePort()),
                start(dir, "c", "[]", seedPort, freePort()));
        Node gateway = nodes.get(2);
        eventually(Duration.ofSeconds(120), () -> assertEquals(200, chat(gateway), "cluster serves m10; logs in " + dir));
        int host = hostOf(nodes);
        assertTrue(host == 0 || host == 1, "m10 needs a GPU: node a or b, not " + host);
        int survivor = 1 - host;

        Process victim = nodes.get(host).process();
        List<ProcessHandle> victimRunners = victim.children().toList();
        victim.destroyForcibly(); // SIGKILL
        long killed = System.nanoTime();
        victim.waitFor(10, TimeUnit.SECONDS);
        eventually(Duration.ofSeconds(90), () -> assertEquals(200, chat(gateway), "m10 served again after SIGKILL; logs in " + dir));
        long recoveryMs = (System.nanoTime() - killed) / 1_000_000;
        System.out.printf("recovery after SIGKILL of node %s: %d ms%n", host == 0 ? "a" : "b", recoveryMs);
        assertEquals(survivor, hostOf(nodes), "m10 runs on the surviving GPU node");
        for (int i = 0; i < 5; i++) {
            assertEquals(200, chat(gateway));
            assertEquals(survivor, hostOf(nodes), "nothing goes back to the dead node");
        }
        // the killed node's sim watched its parent and exited with it: no orphans
        eventually(Duration.ofSeconds(10), "the dead node's runners exited with it",
                () -> victimRunners.stream().noneMatch(ProcessHandle::isAlive));
    }
}
