package dev.llmrt.gateway;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Probes for load balancers and Kubernetes: {@code GET /health} answers 200 while the process runs
 * (liveness); {@code GET /ready} answers 200 once this node can do its roles' work, else 503 with
 * what it still waits for (readiness).
 */
public final class HealthRoutes extends AllDirectives {

    /** What this node still waits for before it can do its work; empty when it is ready. */
    public interface Readiness {
        CompletionStage<List<String>> waitingFor();
    }

    private final Readiness readiness;
    private final Executor callbacks;

    public HealthRoutes(Readiness readiness, Executor callbacks) {
        this.readiness = readiness;
        this.callbacks = callbacks;
    }

    public Route route() {
        return concat(
                path("health", () -> get(() -> complete(json(200, status("ok"))))),
                path("ready", () -> get(() -> completeWithFuture(readiness.waitingFor().thenApplyAsync(waiting -> {
                    if (waiting.isEmpty()) {
                        return json(200, status("ready"));
                    }
                    ObjectNode body = status("not ready");
                    waiting.forEach(body.putArray("waiting_for")::add);
                    return json(503, body);
                }, callbacks)))));
    }

    private static ObjectNode status(String status) {
        return JsonNodeFactory.instance.objectNode().put("status", status);
    }

    private static HttpResponse json(int status, ObjectNode body) {
        return HttpResponse.create().withStatus(StatusCodes.get(status)).withEntity(ContentTypes.APPLICATION_JSON, body.toString());
    }
}
