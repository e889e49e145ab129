package dev.llmrt.gateway;

import dev.llmrt.agent.InferenceProtocol;
import java.time.Duration;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** What routing a request gave the route to answer with. */
public sealed interface Routed {

    /** The runtime's whole answer ({@code Completed}) or its failure ({@code Failed}). */
    record Answered(InferenceProtocol.Reply reply) implements Routed {}

    /** A streamed answer, as a local source (it frees the replica's slot when it ends). */
    record Streaming(int status, String contentType, Source<ByteString, NotUsed> body) implements Routed {}

    /** Admission control turned it away: {@code status} 429 or 503, and when to try again. */
    record Refused(int status, String code, String message, Duration retryAfter) implements Routed {}
}
