package dev.llmrt.agent.runner.io;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import org.apache.pekko.util.ByteString;

/**
 * HTTP/1.1 to one runner's Unix socket, without blocking: keep-alive connections, at most
 * {@code maxConnections} at once (requests beyond wait for one, up to {@code maxWaiting}), all on
 * one {@link IoLoop}. A JSON answer is read whole into one array; a streamed one (SSE, chunked)
 * flows through a {@link StreamBody} with back-pressure.
 *
 * <p>Pool state is touched only on the loop's thread.
 */
public final class RunnerHttpClient {

    /** Where a response goes. Called on the I/O loop's thread: do little (tell an actor). */
    public interface ResponseHandler {
        void whole(int status, String contentType, byte[] body);

        void stream(int status, String contentType, StreamBody body);

        void failed(Throwable error);
    }

    /** Limits of one runner's client. */
    public record Limits(int maxConnections, int maxWaiting, long maxResponseBytes, int maxHeadBytes,
                         long streamHighWater, long streamLowWater) {}

    private record Call(byte[] head, byte[] body, ResponseHandler handler) {}

    private final IoLoop loop;
    private final UnixDomainSocketAddress address;
    private final Limits limits;
    private final ByteBuffer readBuffer;
    private final ArrayDeque<Connection> idle = new ArrayDeque<>();
    private final ArrayDeque<Call> waiting = new ArrayDeque<>();
    private int open;
    private boolean closed;

    /** @param readBuffer shared by every client on {@code loop}: read into, parsed, then reused */
    RunnerHttpClient(IoLoop loop, Path socket, Limits limits, ByteBuffer readBuffer) {
        this.loop = loop;
        this.address = UnixDomainSocketAddress.of(socket);
        this.limits = limits;
        this.readBuffer = readBuffer;
    }

    /** POSTs a JSON body to {@code path}; {@code origin} (may be null) goes as X-Request-Origin. */
    public void post(String path, byte[] body, String origin, String originHeader, ResponseHandler handler) {
        post(path, body, origin, originHeader, null, handler);
    }

    /** As {@link #post(String, byte[], String, String, ResponseHandler)}, with an {@code X-Request-Id} (may be null). */
    public void post(String path, byte[] body, String origin, String originHeader, String requestId, ResponseHandler handler) {
        StringBuilder head = new StringBuilder(160).append("POST ").append(path)
                .append(" HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ")
                .append(body.length).append("\r\n");
        if (origin != null && !origin.isEmpty()) {
            head.append(originHeader).append(": ").append(headerSafe(origin)).append("\r\n");
        }
        if (requestId != null && !requestId.isEmpty()) {
            head.append("X-Request-Id: ").append(headerSafe(requestId)).append("\r\n");
        }
        head.append("\r\n");
        Call call = new Call(head.toString().getBytes(StandardCharsets.ISO_8859_1), body, handler);
        loop.execute(() -> submit(call));
    }

    /** Closes idle connections and fails waiting requests; running exchanges finish. */
    public void close() {
        loop.execute(() -> {
            closed = true;
            Connection c;
            while ((c = idle.poll()) != null) {
                c.close();
            }
            Call w;
            while ((w = waiting.poll()) != null) {
                w.handler.failed(new IOException("the runner's client is closed"));
            }
        });
    }

    /** Connections open now (for tests and status). */
    int openConnections() {
        return open;
    }

    private void submit(Call call) {
        if (closed) {
            call.handler.failed(new IOException("the runner's client is closed"));
            return;
        }
        Connection c = idle.poll();
        if (c != null) {
            c.start(call, true);
        } else if (open < limits.maxConnections()) {
            connect(call);
        } else if (waiting.size() < limits.maxWaiting()) {
            waiting.add(call);
        } else {
            call.handler.failed(new IOException("too many requests waiting for a connection to the runner ("
                    + limits.maxWaiting() + ")"));
        }
    }

    private void connect(Call call) {
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.configureBlocking(false);
            Connection c = new Connection(ch);
            open++;
            boolean connected = ch.connect(address);
            c.key = loop.register(ch, connected ? 0 : SelectionKey.OP_CONNECT, c);
            if (connected) {
                c.start(call, false);
            } else {
                c.call = call;
            }
        } catch (IOException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // failed anyway
                }
                open--;
            }
            call.handler.failed(new IOException("can't connect to " + address.getPath() + ": " + e.getMessage(), e));
        }
    }

    /** A connection is free: the next waiting request takes it, else it waits idle. */
    private void release(Connection c) {
        Call next = waiting.poll();
        if (next != null) {
            c.start(next, true);
        } else if (closed) {
            c.close();
        } else {
            idle.push(c); // most recently used first: the others may time out on the server's side
        }
    }

    /** A connection closed: one waiting request may open another. */
    private void closedOne(Connection c) {
        open--;
        idle.remove(c);
        if (!waiting.isEmpty() && !closed && open < limits.maxConnections()) {
            connect(waiting.poll());
        }
    }

    private static String headerSafe(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            out.append(ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        return out.toString();
    }

    private final class Connection implements IoLoop.Handler, ResponseParser.Listener {
        private final SocketChannel ch;
        private final ResponseParser parser = new ResponseParser(limits.maxHeadBytes());
        private SelectionKey key;
        private Call call;
        private boolean reused;
        private ByteBuffer[] pendingWrite;
        // the response being read
        private ResponseParser.Head head;
        private byte[] whole;
        private int filled;
        private StreamBody stream;
        private boolean pausedRead;
        private boolean isClosed;

        Connection(SocketChannel ch) {
            this.ch = ch;
        }

        void start(Call next, boolean reusedConnection) {
            call = next;
            reused = reusedConnection;
            parser.reset();
            head = null;
            whole = null;
            filled = 0;
            stream = null;
            pendingWrite = new ByteBuffer[] {ByteBuffer.wrap(next.head), ByteBuffer.wrap(next.body)};
            write();
        }

        private void write() {
            try {
                ch.write(pendingWrite);
            } catch (IOException e) {
                broken(e);
                return;
            }
            boolean done = !pendingWrite[1].hasRemaining();
            if (done) {
                pendingWrite = null;
            }
            key.interestOps(SelectionKey.OP_READ | (done ? 0 : SelectionKey.OP_WRITE));
        }

        @Override
        public void ready(SelectionKey k) {
            if (isClosed) {
                return;
            }
            if (k.isConnectable()) {
                try {
                    ch.finishConnect();
                } catch (IOException e) {
                    Call c = call;
                    call = null;
                    close();
                    c.handler.failed(new IOException("can't connect to " + address.getPath() + ": " + e.getMessage(), e));
                    return;
                }
                start(call, false);
                return;
            }
            if (k.isWritable() && pendingWrite != null) {
                write();
            }
            if (k.isValid() && k.isReadable()) {
                read();
            }
        }

        private void read() {
            while (!isClosed && !pausedRead) {
                readBuffer.clear();
                int n;
                try {
                    n = ch.read(readBuffer);
                } catch (IOException e) {
                    broken(e);
                    return;
                }
                if (n == 0) {
                    return;
                }
                if (n < 0) {
                    if (call == null) {
                        close(); // the runner closed an idle connection
                        return;
                    }
                    try {
                        parser.eof(this);
                        close();
                    } catch (IOException e) {
                        broken(e);
                    }
                    return;
                }
                if (call == null) {
                    close(); // bytes nobody asked for: don't trust this connection
                    return;
                }
                readBuffer.flip();
                try {
                    parser.feed(readBuffer, this);
                } catch (IOException e) {
                    broken(e);
                    return;
                }
                if (n < readBuffer.capacity()) {
                    return; // drained: wait for the selector
                }
            }
        }

        @Override
        public void head(ResponseParser.Head h) throws IOException {
            head = h;
            if (h.streaming()) {
                stream = new StreamBody(limits.streamHighWater(), limits.streamLowWater(), control(call));
                call.handler.stream(h.status(), h.contentType(), stream);
            } else if (h.contentLength() > limits.maxResponseBytes()) {
                throw new IOException("response of " + h.contentLength() + " bytes is over the limit of "
                        + limits.maxResponseBytes());
            } else {
                whole = new byte[(int) h.contentLength()];
            }
        }

        @Override
        public void data(ByteBuffer bytes) {
            if (stream != null) {
                if (!stream.offer(ByteString.fromByteBuffer(bytes))) {
                    pausedRead = true;
                    key.interestOps(key.interestOps() & ~SelectionKey.OP_READ);
                }
            } else {
                int n = bytes.remaining();
                bytes.get(whole, filled, n);
                filled += n;
            }
        }

        @Override
        public void end(boolean reusable) {
            Call done = call;
            call = null;
            if (stream != null) {
                stream.end();
            } else {
                done.handler.whole(head.status(), head.contentType(), whole);
            }
            whole = null;
            if (reusable) {
                if (pausedRead) {
                    pausedRead = false;
                    key.interestOps(SelectionKey.OP_READ);
                }
                release(this);
            } else {
                close();
            }
        }

        /** What the stream of {@code exchange} may ask of this connection, from any thread, while it lasts. */
        private StreamBody.Control control(Call exchange) {
            return new StreamBody.Control() {
                @Override
                public void resume() { // the stream took what waited: read again
                    loop.execute(() -> {
                        if (!isClosed && call == exchange && pausedRead) {
                            pausedRead = false;
                            key.interestOps(key.interestOps() | SelectionKey.OP_READ);
                            read();
                        }
                    });
                }

                @Override
                public void cancel() { // the stream's reader went away: close, so the runner stops
                    loop.execute(() -> {
                        if (!isClosed && call == exchange) {
                            call = null;
                            close();
                        }
                    });
                }
            };
        }

        /** I/O failed or the response was malformed: retry once on a fresh connection if nothing was answered. */
        private void broken(IOException e) {
            Call c = call;
            call = null;
            boolean unanswered = parser.idle() && head == null;
            close();
            if (c == null) {
                return;
            }
            if (reused && unanswered) {
                submit(c); // the server had closed this keep-alive connection: it never saw the request
            } else if (stream != null) {
                stream.fail(e);
            } else {
                c.handler.failed(e);
            }
        }

        @Override
        public void closed() {
            Call c = call;
            call = null;
            close();
            if (c != null) {
                IOException e = new IOException("the runner client's I/O loop stopped");
                if (stream != null) {
                    stream.fail(e);
                } else {
                    c.handler.failed(e);
                }
            }
        }

        void close() {
            if (isClosed) {
                return;
            }
            isClosed = true;
            if (key != null) {
                key.cancel();
            }
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            closedOne(this);
        }
    }
}
