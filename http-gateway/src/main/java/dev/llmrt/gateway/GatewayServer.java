package dev.llmrt.gateway;

import dev.llmrt.gateway.metrics.MetricsRoutes;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.Done;
import dev.llmrt.gateway.security.KeyCheck;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.function.Function;

/** Binds the gateway's routes and unbinds them in CoordinatedShutdown. */
public final class GatewayServer extends AllDirectives {
    private final ActorSystem<?> system;
    private final Route routes;
    private final OpenAiRoutes openAi;
    /** Set when bound; requests from browsers on other origins go through it. */
    private Cors cors;
    private KeyCheck keyCheck;

    public GatewayServer(ActorSystem<?> system, OpenAiRoutes openAi, StatusRoutes status, HealthRoutes health,
                         MetricsRoutes metrics) {
        this(system, openAi, status, health, metrics, null);
    }

    /** @param apis the other APIs this gateway serves (Ollama's), after OpenAI's; or null */
    public GatewayServer(ActorSystem<?> system, OpenAiRoutes openAi, StatusRoutes status, HealthRoutes health,
                         MetricsRoutes metrics, Route apis) {
        this.system = system;
        this.openAi = openAi;
        this.routes = handleRejections(notFoundInOpenAiShape(), () -> concat(
                openAi.route(), // first: the hot path
                apis != null ? apis : reject(),
                health.route(),
                metrics.route(),
                status.route(),
                pathSingleSlash(() -> get(() -> complete(HttpResponse.create()
                        .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "llmrt is running"))))));
    }

    public Route routes() {
        return routes;
    }

    /**
     * What the server runs per request: an inference POST goes straight to {@link OpenAiRoutes#infer}
     * (the hot path: no routing tree walked, no rejections built), everything else through the routes.
     */
    public Function<HttpRequest, CompletionStage<HttpResponse>> handler() {
        Function<HttpRequest, CompletionStage<HttpResponse>> rest = routes.handler(system);
        Function<HttpRequest, CompletionStage<HttpResponse>> all = request -> {
            CompletionStage<HttpResponse> fast = openAi.inferIfInference(request);
            return fast != null ? fast : rest.apply(request);
        };
        if (keyCheck != null) {
            all = keyCheck.wrap(all);
        }
        return cors != null ? cors.wrap(all) : all;
    }

    /**
     * Binds with Pekko HTTP's request timeout off (generation can take minutes; the router's ask
     * timeout governs) and a parser limit above ours, so that our 413 is the one clients see.
     */
    public CompletionStage<ServerBinding> bind(GatewaySettings settings) {
        this.cors = new Cors(settings.corsOrigins(), system.executionContext());
        this.keyCheck = new KeyCheck(settings.apiKeys());
        scala.concurrent.duration.Duration idle = scala.concurrent.duration.Duration.fromNanos(settings.idleTimeout().toNanos());
        return Http.get(system).newServerAt(settings.host(), settings.port())
                .adaptSettings(s -> s.withTimeouts(s.getTimeouts().withRequestTimeout(scala.concurrent.duration.Duration.Inf())
                                .withIdleTimeout(idle))
                        .withParserSettings(s.getParserSettings().withMaxContentLength(settings.parserMaxContentLength())))
                .bind(handler()).thenApply(binding -> {
            CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "gateway-unbind",
                    () -> binding.unbind().thenApply(x -> Done.getInstance()));
            CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "gateway-drain",
                    () -> binding.terminate(settings.drainTimeout()).thenApply(x -> Done.getInstance()));
            return binding;
        });
    }

    /** Unmatched routes and methods answer in the OpenAI error shape too; a wrong method says which are allowed. */
    private RejectionHandler notFoundInOpenAiShape() {
        return RejectionHandler.newBuilder()
                .handleAll(MethodRejection.class, rejections -> {
                    String allowed = rejections.stream().map(r -> r.supported().name()).distinct().sorted()
                            .collect(Collectors.joining(", "));
                    return complete(OpenAiErrors.error(405, "invalid_request_error", "method_not_allowed",
                            "method not allowed here; allowed: " + allowed).addHeader(RawHeader.create("Allow", allowed)));
                })
                .handleNotFound(complete(OpenAiErrors.notFound("not_found", "no such route")))
                .build()
                .withFallback(RejectionHandler.defaultHandler());
    }
}
