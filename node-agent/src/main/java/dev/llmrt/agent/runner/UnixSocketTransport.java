package dev.llmrt.agent.runner;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.ClientTransport;
import org.apache.pekko.http.javadsl.OutgoingConnection;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.scaladsl.Http;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamConverters;
import org.apache.pekko.util.ByteString;

/**
 * A Pekko HTTP client transport that ignores host and port and connects to a Unix domain socket,
 * where backends (llama-server, vLLM, sim) listen. JDK 17 has no non-blocking Unix socket I/O that
 * Pekko streams can use, so each connection reads and writes on a dedicated blocking dispatcher.
 */
public final class UnixSocketTransport extends ClientTransport {
    private static final InetSocketAddress UNRESOLVED = InetSocketAddress.createUnresolved("localhost", 0);

    private final Path socket;
    private final String ioDispatcher;

    public UnixSocketTransport(Path socket, String ioDispatcher) {
        this.socket = socket;
        this.ioDispatcher = ioDispatcher;
    }

    @Override
    public Flow<ByteString, ByteString, CompletionStage<OutgoingConnection>> connectTo(
            String host, int port, ClientConnectionSettings settings, ActorSystem system) {
        // The pool materializes this flow once per connection: open the socket at materialization.
        return Flow.<ByteString, ByteString, CompletionStage<OutgoingConnection>>fromMaterializer(
                        (mat, attributes) -> connect())
                .mapMaterializedValue(stage -> stage.thenCompose(c -> c));
    }

    private Flow<ByteString, ByteString, CompletionStage<OutgoingConnection>> connect() {
        SocketChannel ch;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            IOException failure = new IOException("can't connect to " + socket + ": " + e.getMessage(), e);
            return Flow.fromSinkAndSourceMat(Sink.<ByteString>cancelled(), Source.<ByteString>failed(failure),
                    (a, b) -> CompletableFuture.<OutgoingConnection>failedFuture(failure));
        }
        Sink<ByteString, ?> out = StreamConverters.fromOutputStream(() -> new ChannelOutput(ch), true)
                .withAttributes(ActorAttributes.dispatcher(ioDispatcher));
        Source<ByteString, ?> in = StreamConverters.fromInputStream(() -> new ChannelInput(ch), 64 * 1024)
                .withAttributes(ActorAttributes.dispatcher(ioDispatcher));
        OutgoingConnection connection = new OutgoingConnection(new Http.OutgoingConnection(UNRESOLVED, UNRESOLVED));
        return Flow.fromSinkAndSourceCoupledMat(out, in, Keep.none())
                .mapMaterializedValue(x -> CompletableFuture.completedFuture(connection));
    }

    /** Reads straight from the channel (Channels.newInputStream would deadlock against writes). */
    private static final class ChannelInput extends InputStream {
        private final SocketChannel ch;

        ChannelInput(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = ch.read(ByteBuffer.wrap(b, off, len));
            return n == 0 ? read(b, off, len) : n;
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    private static final class ChannelOutput extends OutputStream {
        private final SocketChannel ch;

        ChannelOutput(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }

        @Override
        public void close() throws IOException {
            if (ch.isOpen()) {
                ch.shutdownOutput();
            }
        }
    }
}
