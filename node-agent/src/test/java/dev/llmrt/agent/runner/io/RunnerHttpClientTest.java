package dev.llmrt.agent.runner.io;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The non-blocking runner client against a scripted server on a real Unix socket. */
class RunnerHttpClientTest {
    private static final RunnerHttpClient.Limits LIMITS = new RunnerHttpClient.Limits(64, 1024, 1 << 20, 64 * 1024,
            64 * 1024, 16 * 1024);
    private static ActorSystem<Void> system;
    private ScriptedServer server;

    @BeforeAll
    static void start() {
        system = ActorSystem.create(Behaviors.empty(), "runner-http-client-test");
    }

    @AfterAll
    static void stop() {
        system.terminate();
    }

    @AfterEach
    void closeServer() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    /** What the scripted server does with one request on a connection. */
    interface Script {
        /** @return false to close the connection afterwards */
        boolean answer(SocketChannel ch, String head, byte[] body) throws IOException, InterruptedException;
    }

    /** A Unix-socket server, one thread per connection, that answers each request with a script. */
    static final class ScriptedServer implements AutoCloseable {
        final Path socket;
        final ServerSocketChannel channel;
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicInteger closedByClient = new AtomicInteger();
        final List<Thread> threads = new ArrayList<>();

        ScriptedServer(Script script) throws IOException {
            socket = Files.createTempDirectory("rhc-").resolve("s.sock");
            channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            channel.bind(UnixDomainSocketAddress.of(socket), 1024);
            Thread acceptor = new Thread(() -> {
                while (channel.isOpen()) {
                    try {
                        SocketChannel ch = channel.accept();
                        accepted.incrementAndGet();
                        Thread t = new Thread(() -> serve(ch, script));
                        t.setDaemon(true);
                        t.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private void serve(SocketChannel ch, Script script) {
            try (ch) {
                ByteBuffer in = ByteBuffer.allocate(64 * 1024);
                while (true) {
                    int headEnd;
                    while ((headEnd = headEnd(in)) < 0) {
                        if (ch.read(in) < 0) {
                            closedByClient.incrementAndGet();
                            return;
                        }
                    }
                    String head = new String(in.array(), 0, headEnd, StandardCharsets.ISO_8859_1);
                    int length = 0;
                    for (String line : head.split("\r\n")) {
                        if (line.toLowerCase().startsWith("content-length:")) {
                            length = Integer.parseInt(line.substring(15).trim());
                        }
                    }
                    while (in.position() < headEnd + 4 + length) {
                        if (ch.read(in) < 0) {
                            return;
                        }
                    }
                    byte[] body = new byte[length];
                    System.arraycopy(in.array(), headEnd + 4, body, 0, length);
                    int consumed = headEnd + 4 + length;
                    in.flip();
                    in.position(consumed);
                    in.compact();
                    if (!script.answer(ch, head, body)) {
                        return;
                    }
                }
            } catch (IOException | InterruptedException e) {
                closedByClient.incrementAndGet(); // a write failed: the client went away
            }
        }

        private static int headEnd(ByteBuffer in) {
            byte[] a = in.array();
            for (int i = 3; i < in.position(); i++) {
                if (a[i - 3] == '\r' && a[i - 2] == '\n' && a[i - 1] == '\r' && a[i] == '\n') {
                    return i - 3;
                }
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            channel.close();
            Files.deleteIfExists(socket);
        }
    }

    static void write(SocketChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Collects one answer. */
    static final class Answer implements RunnerHttpClient.ResponseHandler {
        final CompletableFuture<String> whole = new CompletableFuture<>();
        final CompletableFuture<StreamBody> stream = new CompletableFuture<>();
        volatile int status;

        @Override
        public void whole(int status, String contentType, byte[] body) {
            this.status = status;
            whole.complete(new String(body, StandardCharsets.UTF_8));
        }

        @Override
        public void stream(int status, String contentType, StreamBody body) {
            this.status = status;
            stream.complete(body);
        }

        @Override
        public void failed(Throwable error) {
            whole.completeExceptionally(error);
            stream.completeExceptionally(error);
        }
    }

    private RunnerHttpClient client() {
        return RunnerIo.get(system).client(server.socket, LIMITS);
    }

    private static String echo(String head, byte[] body) {
        return new String(body, StandardCharsets.UTF_8) + "|" + head.lines().filter(l -> l.startsWith("X-Request-Origin"))
                .findFirst().orElse("");
    }

    @Test
    void sequentialRequestsShareOneKeepAliveConnection() throws Exception {
        server = new ScriptedServer((ch, head, body) -> {
            String out = echo(head, body);
            write(ch, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + out.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + out);
            return true;
        });
        RunnerHttpClient client = client();
        for (int i = 0; i < 50; i++) {
            Answer a = new Answer();
            client.post("/v1/chat/completions", ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8),
                    i == 0 ? "openwebui\r\nX-Evil: 1" : null, "X-Request-Origin", a);
            String got = a.whole.get(5, TimeUnit.SECONDS);
            assertEquals(200, a.status);
            assertEquals(i == 0 ? "{\"n\":0}|X-Request-Origin: openwebui??X-Evil: 1" : "{\"n\":" + i + "}|", got,
                    "the body comes back as sent; a header value can't inject a header");
        }
        assertEquals(1, server.accepted.get(), "one connection, kept alive");
    }

    @Test
    void aConnectionTheServerClosedWhileIdleIsReplacedWithoutFailingTheRequest() throws Exception {
        // like llama-server's keep-alive timeout: the answer says nothing, then the server closes
        server = new ScriptedServer((ch, head, body) -> {
            write(ch, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return false;
        });
        RunnerHttpClient client = client();
        for (int i = 0; i < 5; i++) {
            Answer a = new Answer();
            client.post("/x", new byte[0], null, "X-Request-Origin", a);
            assertEquals("ok", a.whole.get(5, TimeUnit.SECONDS));
        }
        assertEquals(5, server.accepted.get());
    }

    @Test
    void aChunkedStreamFlowsPartByPart() throws Exception {
        server = new ScriptedServer((ch, head, body) -> {
            write(ch, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 3; i++) {
                String event = "data: " + i + "\n\n";
                write(ch, Integer.toHexString(event.length()) + "\r\n" + event + "\r\n");
                Thread.sleep(20);
            }
            write(ch, "0\r\n\r\n");
            return true;
        });
        RunnerHttpClient client = client();
        for (int round = 0; round < 2; round++) {
            Answer a = new Answer();
            client.post("/v1/chat/completions", "{}".getBytes(StandardCharsets.UTF_8), null, "X-Request-Origin", a);
            StreamBody body = a.stream.get(5, TimeUnit.SECONDS);
            List<ByteString> parts = body.source().runWith(Sink.seq(), system).toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertEquals(3, parts.size(), "each event as it was written");
            assertEquals("data: 0\n\ndata: 1\n\ndata: 2\n\n", parts.stream().map(ByteString::utf8String).reduce("", String::concat));
        }
        assertEquals(1, server.accepted.get(), "a finished stream leaves its connection for the next request");
    }

    @Test
    void cancellingAStreamClosesItsConnectionSoTheRunnerStops() throws Exception {
        server = new ScriptedServer((ch, head, body) -> {
            write(ch, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 500; i++) { // bounded: 5 s at most
                write(ch, "9\r\ndata: x\n\n\r\n");
                Thread.sleep(10);
            }
            return false;
        });
        Answer a = new Answer();
        client().post("/v1/chat/completions", new byte[0], null, "X-Request-Origin", a);
        a.stream.get(5, TimeUnit.SECONDS).source().take(3).runWith(Sink.seq(), system).toCompletableFuture().get(5, TimeUnit.SECONDS);
        eventually(Duration.ofSeconds(3), () -> assertEquals(1, server.closedByClient.get(), "the server saw the client go"));
    }

    @Test
    void aReaderThatDoesNotReadStopsTheRunnerWriting() throws Exception {
        int total = 8 << 20;
        AtomicLong written = new AtomicLong();
        server = new ScriptedServer((ch, head, body) -> {
            write(ch, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            byte[] chunk = new byte[8192];
            java.util.Arrays.fill(chunk, (byte) 'a');
            for (int sent = 0; sent < total; sent += chunk.length) {
                write(ch, "2000\r\n");
                ByteBuffer b = ByteBuffer.wrap(chunk);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                write(ch, "\r\n");
                written.addAndGet(chunk.length);
            }
            write(ch, "0\r\n\r\n");
            return true;
        });
        Answer a = new Answer();
        client().post("/v1/chat/completions", new byte[0], null, "X-Request-Origin", a);
        StreamBody body = a.stream.get(5, TimeUnit.SECONDS);
        Thread.sleep(500); // nobody reads: the client stops reading past its high-water mark
        long stalled = written.get();
        assertTrue(stalled < total / 2, "the server could write only what the buffers hold, wrote " + stalled);
        long read = body.source().runFold(0L, (n, b) -> n + b.size(), system).toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertEquals(total, read, "then all of it, once read");
    }

    @Test
    void manyStreamsAtOnceOnOneIoThread() throws Exception {
        server = new ScriptedServer((ch, head, body) -> {
            write(ch, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
            Thread.sleep(300); // all are open together
            write(ch, "9\r\ndata: x\n\n\r\n0\r\n\r\n");
            return true;
        });
        RunnerHttpClient client = RunnerIo.get(system).client(server.socket, new RunnerHttpClient.Limits(4096, 1024,
                1 << 20, 64 * 1024, 64 * 1024, 16 * 1024));
        int n = 300;
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Answer a = new Answer();
            answers.add(a);
            client.post("/v1/chat/completions", new byte[0], null, "X-Request-Origin", a);
        }
        for (Answer a : answers) {
            String s = a.stream.get(10, TimeUnit.SECONDS).source().runFold("", (acc, b) -> acc + b.utf8String(), system)
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals("data: x\n\n", s);
        }
        assertEquals(n, server.accepted.get(), "one connection per stream in flight, none waiting for another");
    }

    @Test
    void aRequestBeyondTheConnectionLimitWaitsForAFreeOne() throws Exception {
        server = new ScriptedServer((ch, head, body) -> {
            Thread.sleep(50);
            write(ch, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return true;
        });
        RunnerHttpClient client = RunnerIo.get(system).client(server.socket, new RunnerHttpClient.Limits(2, 1024,
                1 << 20, 64 * 1024, 64 * 1024, 16 * 1024));
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Answer a = new Answer();
            answers.add(a);
            client.post("/x", new byte[0], null, "X-Request-Origin", a);
        }
        for (Answer a : answers) {
            assertEquals("ok", a.whole.get(10, TimeUnit.SECONDS));
        }
        assertEquals(2, server.accepted.get());
    }

    @Test
    void noServerIsAFailureSayingWhere() throws Exception {
        server = new ScriptedServer((ch, head, body) -> false);
        Path socket = server.socket;
        server.close();
        Answer a = new Answer();
        RunnerIo.get(system).client(socket, LIMITS).post("/x", new byte[0], null, "X-Request-Origin", a);
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> a.whole.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains(socket.toString()), e.getCause().getMessage());
    }
}
