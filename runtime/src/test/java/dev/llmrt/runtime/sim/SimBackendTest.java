package dev.llmrt.runtime.sim;

import static dev.llmrt.testing.Eventually.eventually;
import static dev.llmrt.testing.Eventually.eventuallyGet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RequiredMemory;
import dev.llmrt.runtime.spi.RunContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sim backend as a real child process, spoken to over its Unix socket. */
class SimBackendTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final SimBackend backend = new SimBackend(new ProcessRunner.Limits(Duration.ofSeconds(5), 4096), List.of("-XX:TieredStopAtLevel=1", "-Xmx64m"));
    private final List<Running> running = new ArrayList<>();

    private record Running(RunContext ctx, CompletableFuture<String> done, AtomicReference<ProcessHandle> process) {}

    @AfterEach
    void stopAll() throws Exception {
        for (Running r : running) {
            r.ctx().cancel();
            r.done().get(20, TimeUnit.SECONDS);
            assertFalse(r.process().get() != null && r.process().get().isAlive(), "sim process reaped");
        }
    }

    /** Starts the sim; the future completes with null on cancellation, or the failure message. */
    private Running start(Path socket, String... flags) {
        AtomicReference<ProcessHandle> process = new AtomicReference<>();
        RunContext ctx = new RunContext(process::set);
        CompletableFuture<String> done = CompletableFuture.supplyAsync(() -> {
            try {
                backend.run(ctx, socket, "sim-model", "test/model", BackendMode.COMPLETION,
                        new BackendConfiguration(null, List.of(flags), null));
                return null;
            } catch (BackendException e) {
                return e.getMessage();
            }
        });
        Running r = new Running(ctx, done, process);
        running.add(r);
        return r;
    }

    private static void awaitHealthy(Path socket) {
        // an IOException (not bound yet) counts as not yet
        eventually(Duration.ofSeconds(30), () -> assertEquals(200, http(socket, "GET", "/health", null).status, "sim healthy"));
    }

    @Test
    void servesChatAsJsonAndAsServerSentEvents() throws Exception {
        Path socket = dir.resolve("chat.sock");
        start(socket, "--max-tokens=5");
        awaitHealthy(socket);

        Reply reply = http(socket, "POST", "/v1/chat/completions",
                "{\"model\":\"test/model\",\"messages\":[{\"role\":\"user\",\"content\":\"say hi to me\"}]}");
        assertEquals(200, reply.status);
        JsonNode body = JSON.readTree(reply.body);
        assertEquals("test/model", body.get("model").asText());
        assertEquals("the quick brown fox jumps ", body.at("/choices/0/message/content").asText());
        assertEquals(4, body.at("/usage/prompt_tokens").asInt());
        assertEquals(5, body.at("/usage/completion_tokens").asInt());

        Reply stream = http(socket, "POST", "/v1/chat/completions", "{\"model\":\"test/model\",\"stream\":true,"
                + "\"max_tokens\":3,\"stream_options\":{\"include_usage\":true},\"messages\":[]}");
        assertTrue(stream.headers.contains("text/event-stream"), stream.headers);
        List<String> events = stream.body.lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertEquals(7, events.size(), stream.body); // role, 3 tokens, finish, usage, [DONE]
        assertEquals("assistant", JSON.readTree(events.get(0)).at("/choices/0/delta/role").asText());
        assertEquals("the ", JSON.readTree(events.get(1)).at("/choices/0/delta/content").asText());
        assertEquals("brown ", JSON.readTree(events.get(3)).at("/choices/0/delta/content").asText());
        assertEquals("length", JSON.readTree(events.get(4)).at("/choices/0/finish_reason").asText());
        assertEquals(3, JSON.readTree(events.get(5)).at("/usage/completion_tokens").asInt());
        assertEquals("[DONE]", events.get(6));
    }

    @Test
    void servesCompletionsEmbeddingsRerankAndMetrics() throws Exception {
        Path socket = dir.resolve("misc.sock");
        start(socket, "--embedding-dim=8", "--max-tokens=2");
        awaitHealthy(socket);
        JsonNode completion = JSON.readTree(http(socket, "POST", "/v1/completions",
                "{\"model\":\"test/model\",\"prompt\":\"once upon\"}").body);
        assertEquals("the quick ", completion.at("/choices/0/text").asText());

        JsonNode emb = JSON.readTree(http(socket, "POST", "/v1/embeddings",
                "{\"model\":\"test/model\",\"input\":[\"a\",\"b\"]}").body);
        assertEquals(2, emb.get("data").size());
        assertEquals(8, emb.at("/data/1/embedding").size());
        JsonNode again = JSON.readTree(http(socket, "POST", "/v1/embeddings",
                "{\"model\":\"test/model\",\"input\":\"a\"}").body);
        assertEquals(emb.at("/data/0/embedding"), again.at("/data/0/embedding"), "embeddings are deterministic");

        JsonNode rerank = JSON.readTree(http(socket, "POST", "/rerank",
                "{\"model\":\"test/model\",\"query\":\"red fox\",\"documents\":[\"a blue whale\",\"the red fox\"]}").body);
        assertTrue(rerank.at("/results/1/relevance_score").asDouble() > rerank.at("/results/0/relevance_score").asDouble());

        String metrics = http(socket, "GET", "/metrics", null).body;
        assertTrue(metrics.contains("llamacpp:tokens_predicted_total 2"), metrics);
    }

    @Test
    void answers421ForAnotherModelAnd503WhileLoading() throws Exception {
        Path socket = dir.resolve("load.sock");
        start(socket, "--load-time-ms=1500");
        Reply health = eventuallyGet(Duration.ofSeconds(20), "answer from the sim's socket",
                () -> http(socket, "GET", "/health", null));
        assertEquals(503, health.status, "loading");
        assertTrue(health.body.contains("Loading model"));
        awaitHealthy(socket);
        Reply other = http(socket, "POST", "/v1/chat/completions", "{\"model\":\"someone/else\",\"messages\":[]}");
        assertEquals(421, other.status);
    }

    @Test
    void aFailureAtStartIsReportedWithTheProcessReason() throws Exception {
        Running r = start(dir.resolve("fail.sock"), "--fail-at-start=cudaMalloc failed: out of memory");
        String error = r.done().get(30, TimeUnit.SECONDS);
        assertTrue(error.startsWith("sim terminated unexpectedly (exit code 1)"), error);
        assertTrue(error.contains("cudaMalloc failed: out of memory"), error);
    }

    @Test
    void anInjectedCrashEndsTheRunWithAnError() throws Exception {
        Path socket = dir.resolve("crash.sock");
        Running r = start(socket, "--exit-after=1");
        awaitHealthy(socket);
        assertEquals(200, http(socket, "POST", "/v1/chat/completions", "{\"messages\":[]}").status);
        assertThrows(IOException.class, () -> http(socket, "POST", "/v1/chat/completions", "{\"messages\":[]}"));
        String error = r.done().get(30, TimeUnit.SECONDS);
        assertTrue(error.contains("exit code 3") && error.contains("injected fault"), error);
    }

    @Test
    void flagsAreValidatedAndDeclareMemory() throws Exception {
        RequiredMemory m = backend.requiredMemoryForModel("x", new BackendConfiguration(null,
                List.of("--vram-mb=2048", "--ram-mb", "100"), null));
        assertEquals(2048L << 20, m.vram());
        assertEquals(100L << 20, m.ram());
        BackendException e = assertThrows(BackendException.class, () -> backend.requiredMemoryForModel("x",
                new BackendConfiguration(null, List.of("--log-file=/etc/passwd"), null)));
        assertTrue(e.getMessage().contains("'--log-file' is not allowed"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SimSettings.parse(List.of("--max-seqs=0")));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.parse(List.of("--ttft-ms=fast")));
        assertThrows(IllegalArgumentException.class, () -> SimSettings.parse(List.of("--ttft-ms")));
        assertEquals(SimSettings.parse(List.of("--hang", "--tpot-ms=2.5")),
                SimSettings.parse(SimSettings.parse(List.of("--hang", "--tpot-ms=2.5")).toFlags()));
    }

    record Reply(int status, String headers, String body) {}

    /** A minimal HTTP/1.1 exchange over a Unix socket (the JDK's client can't use one). */
    static Reply http(Path socket, String method, String path, String body) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + content.length + "\r\n") + "\r\n";
            ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            ch.write(ByteBuffer.wrap(content));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (ch.read(buf) > 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            String raw = out.toString(StandardCharsets.UTF_8);
            int split = raw.indexOf("\r\n\r\n");
            if (split < 0) {
                throw new IOException("connection closed without a response");
            }
            String headers = raw.substring(0, split);
            String payload = raw.substring(split + 4);
            if (headers.toLowerCase().contains("transfer-encoding: chunked")) {
                payload = dechunk(payload);
            }
            return new Reply(Integer.parseInt(headers.split(" ")[1]), headers, payload);
        }
    }

    private static String dechunk(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (true) {
            int nl = s.indexOf("\r\n", i);
            int size = Integer.parseInt(s.substring(i, nl), 16);
            if (size == 0) {
                return out.toString();
            }
            out.append(s, nl + 2, nl + 2 + size);
            i = nl + 2 + size + 2;
        }
    }
}
