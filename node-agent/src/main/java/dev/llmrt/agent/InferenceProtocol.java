package dev.llmrt.agent;

import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.util.ByteString;

/** The inference request as it travels from a gateway to a runner, and the replies it gets. */
public final class InferenceProtocol {
    private InferenceProtocol() {}

    /**
     * An OpenAI-style call: the backend path ({@code /v1/chat/completions}, ...), the client's JSON
     * body untouched, and the {@code X-Request-Origin} it came with (may be null).
     */
    public record Request(String path, byte[] body, String origin) implements CborSerializable {}

    /** What the gateway gets back. */
    public sealed interface Reply extends CborSerializable permits Completed, Streamed, Failed {}

    /** A whole response (JSON bodies): status, content type and bytes, as the backend sent them. */
    public record Completed(int status, String contentType, byte[] body) implements Reply {}

    /** A response whose body streams (SSE): chunks arrive through the stream ref as the backend writes them. */
    public record Streamed(int status, String contentType, SourceRef<ByteString> body) implements Reply {}

    /**
     * A replica received request {@code attempt}: from here on the request can only be lost with its
     * node (Cluster Sharding drops messages that arrive while a shard is handed off).
     */
    public record Accepted(long attempt) implements CborSerializable {}

    /** Where a replica lives: the cluster address of its node. */
    public record Located(String node) implements CborSerializable {}

    /**
     * The answer to a warm-up: the replica's runner on {@code node} (its cluster address) is ready,
     * or could not start ({@code error} says why).
     */
    public record Warmed(String node, boolean ready, String error) implements CborSerializable {}

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
        BACKEND_FAILED
    }
}
