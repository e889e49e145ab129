package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real OCI registry on loopback for tests: Debian's {@code docker-registry} (the CNCF Distribution
 * server, installed by deploy/scripts/setup.sh), storing into a temp directory, stopped by its PID.
 */
final class OciRegistry implements AutoCloseable {
    static final String BINARY = "/usr/bin/docker-registry";
    final Path root;
    final int port;
    private final Process process;

    private OciRegistry(Path root, int port, Process process) {
        this.root = root;
        this.port = port;
        this.process = process;
    }

    static OciRegistry start() throws Exception {
        assertTrue(Files.isExecutable(Path.of(BINARY)),
                BINARY + " not found: run deploy/scripts/setup.sh (it installs Debian's docker-registry package)");
        Path root = Files.createTempDirectory("llmrt-registry");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path config = root.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                """.formatted(root.resolve("data"), port));
        Process p = new ProcessBuilder(BINARY, "serve", config.toString()).redirectErrorStream(true)
                .redirectOutput(root.resolve("registry.log").toFile()).start();
        OciRegistry registry = new OciRegistry(root, port, p);
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("docker-registry exited: " + Files.readString(root.resolve("registry.log")));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return registry;
                }
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        registry.close();
        throw new IllegalStateException("docker-registry did not answer on port " + port + " within 30 s");
    }

    /** {@code 127.0.0.1:port/repository:tag}. */
    String ref(String repositoryAndTag) {
        return "127.0.0.1:" + port + "/" + repositoryAndTag;
    }

    /** Where the registry keeps a blob's bytes (to corrupt one). */
    Path blobData(String digest) {
        String hex = digest.substring("sha256:".length());
        return root.resolve("data/docker/registry/v2/blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex).resolve("data");
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
