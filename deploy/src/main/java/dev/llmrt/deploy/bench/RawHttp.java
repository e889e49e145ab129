package dev.llmrt.deploy.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The benchmark's own client: HTTP/1.1 POSTs on one blocking keep-alive connection, to a TCP port or
 * a Unix socket with the same code, so every target is measured the same way. It times the whole
 * answer, or, for a stream, the first body bytes and each later part.
 */
final class RawHttp implements AutoCloseable {

    /** Where to connect: a TCP port on loopback or a Unix socket. */
    record Target(String name, SocketAddress address) {
        static Target tcp(String name, int port) {
            return new Target(name, new InetSocketAddress("127.0.0.1", port));
        }

        static Target unix(String name, Path socket) {
            return new Target(name, UnixDomainSocketAddress.of(socket));
        }
    }

    /** One exchange: status, nanoseconds to the end, to the first body part, and between parts. */
    record Timing(int status, long totalNanos, long firstPartNanos, long[] gapNanos) {}

    private final Target target;
    private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
    private SocketChannel ch;

    RawHttp(Target target) {
        this.target = target;
    }

    /** POSTs {@code body} to {@code path} and reads the whole answer, timing its parts. */
    Timing post(String path, byte[] body) throws IOException {
        if (ch == null || !ch.isOpen()) {
            ch = SocketChannel.open(target.address() instanceof UnixDomainSocketAddress
                    ? StandardProtocolFamily.UNIX : StandardProtocolFamily.INET);
            ch.connect(target.address());
        }
        long t0 = System.nanoTime();
        send(ch, path, body);
        return read(t0);
    }

    /** Writes a JSON POST, head and body, on a blocking channel. */
    static void send(SocketChannel ch, String path, byte[] body) throws IOException {
        byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer[] out = {ByteBuffer.wrap(head), ByteBuffer.wrap(body)};
        while (out[1].hasRemaining()) {
            ch.write(out);
        }
    }

    private Timing read(long t0) throws IOException {
        in.clear();
        StringBuilder headText = new StringBuilder();
        int headEnd;
        while (true) {
            fill();
            headEnd = indexOfHeadEnd();
            if (headEnd >= 0) {
                break;
            }
        }
        in.flip();
        byte[] h = new byte[headEnd];
        in.get(h);
        in.position(in.position() + 4);
        headText.append(new String(h, StandardCharsets.ISO_8859_1));
        String[] lines = headText.toString().split("\r\n");
        int status = Integer.parseInt(lines[0].substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i].toLowerCase();
            if (l.startsWith("content-length:")) {
                length = Long.parseLong(l.substring(15).trim());
            } else if (l.startsWith("transfer-encoding:") && l.contains("chunked")) {
                chunked = true;
            } else if (l.startsWith("connection:") && l.contains("close")) {
                close = true;
            }
        }
        long first = -1;
        long last = -1;
        long[] gaps = new long[64];
        int nGaps = 0;
        if (chunked) {
            // parts as they come: each read that brings bytes is one arrival
            while (true) {
                int size = chunkSize();
                if (size == 0) {
                    readLine(); // end of trailers
                    break;
                }
                long now = System.nanoTime();
                if (first < 0) {
                    first = now - t0;
                } else if (nGaps < gaps.length) {
                    gaps[nGaps++] = now - last;
                }
                last = now;
                skip(size);
                readLine();
            }
        } else {
            long got = in.remaining();
            while (length >= 0 && got < length) {
                in.compact();
                int n = ch.read(in);
                if (n < 0) {
                    throw new IOException("connection closed in the body");
                }
                in.flip();
                got += n;
            }
            first = System.nanoTime() - t0;
            in.position(in.limit());
        }
        long total = System.nanoTime() - t0;
        if (close) {
            ch.close();
        }
        long[] g = new long[nGaps];
        System.arraycopy(gaps, 0, g, 0, nGaps);
        return new Timing(status, total, first, g);
    }

    private int indexOfHeadEnd() {
        for (int i = 3; i < in.position(); i++) {
            if (in.get(i - 3) == '\r' && in.get(i - 2) == '\n' && in.get(i - 1) == '\r' && in.get(i) == '\n') {
                return i - 3;
            }
        }
        return -1;
    }

    /** Reads more into {@code in} (write mode). */
    private void fill() throws IOException {
        if (!in.hasRemaining()) {
            throw new IOException("response head too large");
        }
        if (ch.read(in) < 0) {
            throw new IOException("connection closed before the answer");
        }
    }

    private int chunkSize() throws IOException {
        String line = readLine();
        int semi = line.indexOf(';');
        return Integer.parseInt((semi < 0 ? line : line.substring(0, semi)).trim(), 16);
    }

    /** A CRLF-terminated line from {@code in} (read mode), reading more as needed. */
    private String readLine() throws IOException {
        StringBuilder line = new StringBuilder();
        while (true) {
            while (in.hasRemaining()) {
                byte b = in.get();
                if (b == '\n') {
                    int n = line.length();
                    return n > 0 && line.charAt(n - 1) == '\r' ? line.substring(0, n - 1) : line.toString();
                }
                line.append((char) b);
            }
            more();
        }
    }

    private void skip(int n) throws IOException {
        while (n > 0) {
            if (!in.hasRemaining()) {
                more();
            }
            int k = Math.min(n, in.remaining());
            in.position(in.position() + k);
            n -= k;
        }
    }

    private void more() throws IOException {
        in.clear();
        if (ch.read(in) < 0) {
            throw new IOException("connection closed in the body");
        }
        in.flip();
    }

    @Override
    public void close() throws IOException {
        if (ch != null) {
            ch.close();
        }
    }
}
