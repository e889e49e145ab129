package dev.llmrt.gateway;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Materializer;

/** A response's whole body, for the routes that translate answers (Ollama's, the Responses API). */
public final class StrictBody {
    private StrictBody() {}

    /** The bytes as they are when the body came whole (the usual case), else read within {@code timeout}. */
    public static CompletionStage<byte[]> of(HttpResponse response, Duration timeout, Materializer materializer, Executor callbacks) {
        if (response.entity() instanceof HttpEntity.Strict s) {
            return CompletableFuture.completedFuture(s.getData().toArrayUnsafe());
        }
        return response.entity().toStrict(timeout.toMillis(), materializer)
                .thenApplyAsync(s -> s.getData().toArrayUnsafe(), callbacks);
    }
}
