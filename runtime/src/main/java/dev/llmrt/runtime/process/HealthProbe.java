package dev.llmrt.runtime.process;

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

/**
 * One {@code GET /health} on its own Unix socket connection, reading only the status line: cheap
 * enough to poll every few milliseconds while a backend loads (llama-server answers 503 meanwhile).
 * It gives up after a timeout: a stopped or deadlocked process still accepts connections (the kernel
 * queues them) but never answers.
 */
public final class HealthProbe {
    private HealthProbe() {}

    private static final byte[] REQUEST = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    /** The HTTP status, or -1 when nothing answers within {@code timeout} (not bound yet, gone, or hung). */
    public static int status(Path socket, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX); Selector selector = Selector.open()) {
            ch.connect(UnixDomainSocketAddress.of(socket)); // a Unix socket connects at once, or fails
            ch.configureBlocking(false);
            ByteBuffer out = ByteBuffer.wrap(REQUEST);
            ByteBuffer in = ByteBuffer.allocate(32);
            SelectionKey key = ch.register(selector, SelectionKey.OP_WRITE);
            while (in.position() < 12) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return -1;
                }
                if (selector.select(Math.max(1, left / 1_000_000)) == 0) {
                    continue;
                }
                selector.selectedKeys().clear();
                if (out.hasRemaining()) {
                    ch.write(out);
                    if (!out.hasRemaining()) {
                        key.interestOps(SelectionKey.OP_READ);
                    }
                } else if (ch.read(in) < 0) {
                    break;
                }
            }
            String head = new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII);
            return head.startsWith("HTTP/1.") && head.length() >= 12 ? Integer.parseInt(head.substring(9, 12)) : -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
