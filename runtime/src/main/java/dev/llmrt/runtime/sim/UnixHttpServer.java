package dev.llmrt.runtime.sim;

import java.io.Closeable;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small HTTP/1.1 server on a Unix domain socket, one thread per connection, keep-alive, with
 * fixed-length and chunked responses. Enough for the sim backend, and fast: a request costs one
 * read and one write on an already-open connection.
 */
final class UnixHttpServer implements Closeable {
    private static final int MAX_HEADER_BYTES = 64 * 1024;
    private static final int MAX_BODY_BYTES = 64 * 1024 * 1024;

    interface Handler {
        void handle(Exchange exchange) throws IOException;
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private final ExecutorService connections;
    private final Handler handler;

    private UnixHttpServer(ServerSocketChannel server, Path socket, Handler handler) {
        this.server = server;
        this.socket = socket;
        this.handler = handler;
        AtomicInteger n = new AtomicInteger();
        this.connections = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(null, r, "conn-" + n.incrementAndGet(), 256 * 1024);
            t.setDaemon(true);
            return t;
        });
    }

    static UnixHttpServer start(Path socket, Handler handler) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket), 1024);
        UnixHttpServer s = new UnixHttpServer(server, socket, handler);
        Thread acceptor = new Thread(s::acceptLoop, "acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
        return s;
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                connections.execute(() -> serve(ch));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            Connection conn = new Connection(ch);
            while (true) {
                Exchange ex = conn.readRequest();
                if (ex == null) {
                    return;
                }
                handler.handle(ex);
                ex.finish();
                if (ex.closeAfter) {
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            // peer went away or sent garbage: drop the connection
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        connections.shutdownNow();
        Files.deleteIfExists(socket);
    }

    /** Buffered reading of requests from one connection. */
    private static final class Connection {
        private final SocketChannel ch;
        private byte[] buf = new byte[16 * 1024];
        private int start;
        private int end;

        Connection(SocketChannel ch) {
            this.ch = ch;
        }

        Exchange readRequest() throws IOException {
            int headerEnd;
            while ((headerEnd = indexOfHeaderEnd()) < 0) {
                if (end - start > MAX_HEADER_BYTES) {
                    throw new IOException("request header too large");
                }
                if (!fill()) {
                    return null;
                }
            }
            String head = new String(buf, start, headerEnd - start, StandardCharsets.ISO_8859_1);
            start = headerEnd + 4;
            String[] lines = head.split("\r\n");
            String[] requestLine = lines[0].split(" ");
            if (requestLine.length < 3) {
                throw new IOException("bad request line");
            }
            Map<String, String> headers = new HashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
                }
            }
            byte[] body = readBody(headers);
            boolean close = "close".equalsIgnoreCase(headers.get("connection")) || requestLine[2].equals("HTTP/1.0");
            String target = requestLine[1];
            int q = target.indexOf('?');
            return new Exchange(ch, requestLine[0], q < 0 ? target : target.substring(0, q), headers, body, close);
        }

        private byte[] readBody(Map<String, String> headers) throws IOException {
            if (headers.containsKey("transfer-encoding")) {
                throw new IOException("chunked request bodies are not supported");
            }
            String cl = headers.get("content-length");
            int length = cl == null ? 0 : Integer.parseInt(cl);
            if (length < 0 || length > MAX_BODY_BYTES) {
                throw new IOException("bad content length " + length);
            }
            byte[] body = new byte[length];
            int have = Math.min(length, end - start);
            System.arraycopy(buf, start, body, 0, have);
            start += have;
            ByteBuffer rest = ByteBuffer.wrap(body, have, length - have);
            while (rest.hasRemaining()) {
                if (ch.read(rest) < 0) {
                    throw new IOException("connection closed inside a body");
                }
            }
            return body;
        }

        private int indexOfHeaderEnd() {
            for (int i = start; i + 3 < end; i++) {
                if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                    return i;
                }
            }
            return -1;
        }

        private boolean fill() throws IOException {
            if (start > 0) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
            if (end == buf.length) {
                byte[] bigger = new byte[buf.length * 2];
                System.arraycopy(buf, 0, bigger, 0, end);
                buf = bigger;
            }
            int n = ch.read(ByteBuffer.wrap(buf, end, buf.length - end));
            if (n < 0) {
                return false;
            }
            end += n;
            return true;
        }
    }

    /** One request and its response. */
    static final class Exchange {
        final String method;
        final String path;
        final Map<String, String> headers;
        final byte[] body;
        private final SocketChannel ch;
        private boolean closeAfter;
        private boolean responded;
        private boolean chunked;

        Exchange(SocketChannel ch, String method, String path, Map<String, String> headers, byte[] body, boolean close) {
            this.ch = ch;
            this.method = method;
            this.path = path;
            this.headers = headers;
            this.body = body;
            this.closeAfter = close;
        }

        void respond(int status, String contentType, byte[] content) throws IOException {
            String head = "HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: " + contentType
                    + "\r\nContent-Length: " + content.length + (closeAfter ? "\r\nConnection: close" : "") + "\r\n\r\n";
            byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer out = ByteBuffer.allocate(h.length + content.length).put(h).put(content).flip();
            writeFully(out);
            responded = true;
        }

        void startChunked(int status, String contentType) throws IOException {
            String head = "HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: " + contentType
                    + "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked"
                    + (closeAfter ? "\r\nConnection: close" : "") + "\r\n\r\n";
            writeFully(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
            responded = true;
            chunked = true;
        }

        void chunk(byte[] data) throws IOException {
            if (data.length == 0) {
                return;
            }
            byte[] size = (Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
            ByteBuffer out = ByteBuffer.allocate(size.length + data.length + 2).put(size).put(data).put((byte) '\r').put((byte) '\n').flip();
            writeFully(out);
        }

        void finish() throws IOException {
            if (chunked) {
                writeFully(ByteBuffer.wrap("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
                chunked = false;
            } else if (!responded) {
                respond(500, "text/plain", "no response".getBytes(StandardCharsets.UTF_8));
            }
        }

        private void writeFully(ByteBuffer out) throws IOException {
            while (out.hasRemaining()) {
                ch.write(out);
            }
        }

        private static String reason(int status) {
            return switch (status) {
                case 200 -> "OK";
                case 400 -> "Bad Request";
                case 404 -> "Not Found";
                case 421 -> "Misdirected Request";
                case 503 -> "Service Unavailable";
                default -> "Status";
            };
        }
    }
}
