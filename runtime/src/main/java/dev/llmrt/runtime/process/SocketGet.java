package dev.llmrt.runtime.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * One {@code GET} on its own Unix socket connection ({@code Connection: close}), bounded in time and
 * size: for what an agent reads from a runner now and then, such as its {@code /metrics}, apart from
 * the request path's connections.
 */
public final class SocketGet {
    private SocketGet() {}

    /** The body of a 200 answer; an {@link IOException} for anything else, a timeout, or more than {@code maxBytes}. */
    public static byte[] get(Path socket, String path, Duration timeout, int maxBytes) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX); Selector selector = Selector.open()) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer request = ByteBuffer.wrap(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            while (request.hasRemaining()) {
                ch.write(request);
            }
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ);
            ByteArrayOutputStream answer = new ByteArrayOutputStream(8192);
            ByteBuffer buf = ByteBuffer.allocate(16384);
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("GET " + path + ": no complete answer within " + timeout.toMillis() + " ms");
                }
                selector.select(Math.max(1, left / 1_000_000));
                selector.selectedKeys().clear();
                int n;
                while ((n = ch.read(buf)) > 0) {
                    answer.write(buf.array(), 0, n);
                    buf.clear();
                    if (answer.size() > maxBytes) {
                        throw new IOException("GET " + path + ": answer larger than " + maxBytes + " bytes");
                    }
                }
                if (n < 0) {
                    return body(path, answer.toByteArray());
                }
            }
        }
    }

    /** The body of a complete HTTP/1.1 answer read to its end (fixed length, chunked, or until close). */
    static byte[] body(String path, byte[] answer) throws IOException {
        int headEnd = indexOf(answer, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (headEnd < 0) {
            throw new IOException("GET " + path + ": answer ended before its headers did");
        }
        String head = new String(answer, 0, headEnd, StandardCharsets.ISO_8859_1);
        if (!head.startsWith("HTTP/1.") || head.length() < 12) {
            throw new IOException("GET " + path + ": not an HTTP answer");
        }
        int status = Integer.parseInt(head.substring(9, 12));
        if (status != 200) {
            throw new IOException("GET " + path + ": HTTP " + status);
        }
        byte[] rest = Arrays.copyOfRange(answer, headEnd + 4, answer.length);
        String lower = head.toLowerCase(Locale.ROOT);
        if (lower.contains("\r\ntransfer-encoding: chunked")) {
            return dechunk(path, rest);
        }
        int cl = lower.indexOf("\r\ncontent-length:");
        if (cl >= 0) {
            int end = lower.indexOf("\r\n", cl + 2);
            int length = Integer.parseInt(lower.substring(cl + 17, end < 0 ? lower.length() : end).trim());
            if (rest.length < length) {
                throw new IOException("GET " + path + ": answer ended after " + rest.length + " of " + length + " bytes");
            }
            return Arrays.copyOf(rest, length);
        }
        return rest;
    }

    private static byte[] dechunk(String path, byte[] chunked) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(chunked.length);
        int at = 0;
        byte[] crlf = "\r\n".getBytes(StandardCharsets.US_ASCII);
        while (true) {
            int lineEnd = indexOf(chunked, crlf, at);
            if (lineEnd < 0) {
                throw new IOException("GET " + path + ": chunked answer ended early");
            }
            String size = new String(chunked, at, lineEnd - at, StandardCharsets.US_ASCII);
            int semicolon = size.indexOf(';');
            int n = Integer.parseInt((semicolon >= 0 ? size.substring(0, semicolon) : size).trim(), 16);
            if (n == 0) {
                return out.toByteArray();
            }
            if (lineEnd + 2 + n > chunked.length) {
                throw new IOException("GET " + path + ": chunked answer ended early");
            }
            out.write(chunked, lineEnd + 2, n);
            at = lineEnd + 2 + n + 2;
        }
    }

    private static int indexOf(byte[] data, byte[] what, int from) {
        outer:
        for (int i = from; i <= data.length - what.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (data[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
