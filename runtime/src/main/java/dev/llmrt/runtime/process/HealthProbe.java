package dev.llmrt.runtime.process;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * One {@code GET /health} on its own Unix socket connection, reading only the status line: cheap
 * enough to poll every few milliseconds while a backend loads (llama-server answers 503 meanwhile).
 */
public final class HealthProbe {
    private HealthProbe() {}

    /** The HTTP status, or -1 when nothing answers (not bound yet, or gone). */
    public static int status(Path socket) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer buf = ByteBuffer.allocate(32);
            while (buf.position() < 12 && ch.read(buf) > 0) {
                // the status line is all we need
            }
            String head = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII);
            return head.startsWith("HTTP/1.") && head.length() >= 12 ? Integer.parseInt(head.substring(9, 12)) : -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
