package dev.llmrt.agent;

import dev.llmrt.agent.runner.RunnerSupervisor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** The inference request as it travels from a gateway to a runner, and the replies it gets. */
public final class InferenceProtocol {
    private InferenceProtocol() {}

    /**
     * An OpenAI-style call: the backend path ({@code /v1/chat/completions}, ...), the client's JSON
     * body untouched, the {@code X-Request-Origin} it came with (may be null), and its request id
     * (the client's {@code X-Request-Id}, or one the gateway made; may be null), which the runner's
     * node logs and passes to the backend.
     */
    public record Request(String path, byte[] body, String origin, String requestId) implements CborSerializable {
        public Request(String path, byte[] body, String origin) {
            this(path, body, origin, null);
        }
    }

    /** What the gateway gets back. */
    public sealed interface Reply extends CborSerializable permits Completed, CompletedInParts, Stream, Failed {}

    /** A response whose body streams (SSE): chunks flow as the backend writes them, with back-pressure. */
    public sealed interface Stream extends Reply permits Streamed, StreamedLocally {
        int status();

        String contentType();

        /** The body; it can be run once. */
        Source<ByteString, NotUsed> source();

        /** Nobody will read the body: let the runner stop. */
        void discard(Materializer materializer);
    }

    /** A whole response (JSON bodies): status, content type and bytes, as the backend sent them. */
    public record Completed(int status, String contentType, byte[] body) implements Reply {}

    /**
     * A whole response too large for one message between nodes (Artery drops a message over its frame
     * size): its bytes follow through the stream ref in chunks of {@link #PART_BYTES}, with
     * back-pressure. The asking gateway reads them into one {@link Completed} before anyone sees it.
     */
    public record CompletedInParts(int status, String contentType, long size, SourceRef<ByteString> body) implements Reply {}

    /**
     * Whole answers to another node above this go in parts: it is under Artery's ordinary frame (256
     * KiB), so whatever a node's large-message settings, no answer is dropped for its size.
     */
    public static final int IN_PARTS_ABOVE = 192 * 1024;

    /** The size of each part (well under a frame). */
    public static final int PART_BYTES = 64 * 1024;

    /** A stream to another node: chunks arrive through the stream ref. */
    public record Streamed(int status, String contentType, SourceRef<ByteString> body) implements Stream {
        @Override
        public Source<ByteString, NotUsed> source() {
            return body.getSource().mapMaterializedValue(x -> NotUsed.getInstance());
        }

        @Override
        public void discard(Materializer materializer) {
            body.getSource().runWith(Sink.cancelled(), materializer);
        }
    }

    /**
     * A stream to a gateway in the same JVM: the runner connection's body itself, with no stream ref
     * between (never serialized: a runner sends it only to a local reply address).
     */
    public record StreamedLocally(int status, String contentType, Source<ByteString, NotUsed> body) implements Stream {
        @Override
        public Source<ByteString, NotUsed> source() {
            return body;
        }

        @Override
        public void discard(Materializer materializer) {
            body.runWith(Sink.cancelled(), materializer);
        }
    }

    /**
     * A replica received request {@code attempt}: from here on the request can only be lost with its
     * node (Cluster Sharding drops messages that arrive while a shard is handed off).
     */
    public record Accepted(long attempt) implements CborSerializable {}

    /** Where a replica lives: the cluster address of its node. */
    public record Located(String node) implements CborSerializable {}

    /**
     * The answer to a warm-up: the replica's runner on {@code node} (its cluster address) is ready,
     * or could not start ({@code error} says why). A ready runner gives its own address: a gateway
     * then sends it requests straight, past the shard and the agent, for as long as it lives.
     */
    public record Warmed(String node, boolean ready, String error, ActorRef<RunnerSupervisor.Command> runner)
            implements CborSerializable {
        public Warmed(String node, boolean ready, String error) {
            this(node, ready, error, null);
        }
    }

    /** The runtime could not get an answer; {@code kind} decides the HTTP status. */
    public record Failed(FailureKind kind, String message) implements Reply {}

    public enum FailureKind {
        /** No such model here (404). */
        MODEL_NOT_FOUND,
        /** The request can't be served as given (400). */
        BAD_REQUEST,
        /** The model's backend is not installed on the node (412); the message says how to install it. */
        BACKEND_NOT_INSTALLED,
        /** The runner could not start or is overloaded (503); the message carries the backend's reason. */
        RUNNER_UNAVAILABLE,
        /** The backend died or broke the connection while answering (502). */
        BACKEND_FAILED,
        /**
         * The runner asked takes no new requests (it drains before it unloads or moves): the gateway
         * sends the request again through the model's replica, which finds or starts another (503 if
         * it ever reaches a client).
         */
        RUNNER_GONE
    }
}
