package dev.llmrt.deploy.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Many streaming requests held open at once from one thread (a selector), so the client's own
 * threads don't grow with them: counts the streams that received an event, and the ones that ended.
 */
final class OpenStreams implements AutoCloseable {
    private final Selector selector = Selector.open();
    private final List<SocketChannel> channels = new ArrayList<>();
    private int withEvent;
    private int ended;

    /** Opens {@code n} connections to 127.0.0.1:{@code port}, each sending one streaming POST. */
    OpenStreams(int port, String path, byte[] body, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
            RawHttp.send(ch, path, body);
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ, new boolean[] {false});
            channels.add(ch);
        }
    }

    /** Reads what arrives until every stream had an event or the deadline; returns how many had one. */
    int awaitEvents(long deadlineNanos) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        while (withEvent + ended < channels.size() && System.nanoTime() < deadlineNanos) {
            selector.select(50);
            for (SelectionKey key : selector.selectedKeys()) {
                SocketChannel ch = (SocketChannel) key.channel();
                boolean[] seen = (boolean[]) key.attachment();
                buf.clear();
                int r = ch.read(buf);
                if (r < 0) {
                    key.cancel();
                    ch.close();
                    ended++;
                } else if (!seen[0] && new String(buf.array(), 0, buf.position(), StandardCharsets.ISO_8859_1).contains("data:")) {
                    seen[0] = true;
                    withEvent++;
                }
            }
            selector.selectedKeys().clear();
        }
        return withEvent;
    }

    @Override
    public void close() throws IOException {
        for (SocketChannel ch : channels) {
            ch.close(); // the gateway cancels each stream, and the runner stops generating it
        }
        selector.close();
    }
}
