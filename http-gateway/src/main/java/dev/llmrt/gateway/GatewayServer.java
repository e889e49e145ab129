package dev.llmrt.gateway;

import dev.llmrt.gateway.metrics.MetricsRoutes;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.pekko.Done;
import dev.llmrt.gateway.security.KeyCheck;
import dev.llmrt.gateway.security.PemTls;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import java.nio.file.Path;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.ServerBuilder;
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
    /** Where keys' limits are kept cluster-wide; null: limits are not enforced. */
    private KeyCheck.Limiter limiter;

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

    /** Enforces keys' limits through {@code limiter} (set before binding). */
    public GatewayServer withKeyLimits(KeyCheck.Limiter limiter) {
        this.limiter = limiter;
        return this;
    }

    /**
     * Binds with Pekko HTTP's request timeout off (generation can take minutes; the router's ask
     * timeout governs) and a parser limit above ours, so that our 413 is the one clients see.
     */
    public CompletionStage<ServerBinding> bind(GatewaySettings settings) {
        this.cors = new Cors(settings.corsOrigins(), system.executionContext());
        this.keyCheck = new KeyCheck(settings.apiKeys(), limiter, system.executionContext(), Materializer.matFromSystem(system));
        scala.concurrent.duration.Duration idle = scala.concurrent.duration.Duration.fromNanos(settings.idleTimeout().toNanos());
        ServerBuilder server = serverAt(system, settings)
                // the caller's address rides on each request (the first API key may only come from loopback); set
                // here, not in reference.conf, where a fat jar's merge order lets Pekko HTTP's default win
                .adaptSettings(s -> s.withRemoteAddressAttribute(true)
                        .withTimeouts(s.getTimeouts().withRequestTimeout(scala.concurrent.duration.Duration.Inf())
                                .withIdleTimeout(idle))
                        .withParserSettings(s.getParserSettings().withMaxContentLength(settings.parserMaxContentLength())));
        CompletionStage<ServerBinding> bound = settings.maxConnectionsPerClient() > 0
                ? bindLimited(server, handler(), settings.maxConnectionsPerClient()) : server.bind(handler());
        return bound.thenApply(binding -> {
            CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "gateway-unbind",
                    () -> binding.unbind().thenApply(x -> Done.getInstance()));
            CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "gateway-drain",
                    () -> binding.terminate(settings.drainTimeout()).thenApply(x -> Done.getInstance()));
            return binding;
        });
    }

    /** A server at the configured host and port: HTTPS when {@code llmrt.gateway.tls} names a certificate and key. */
    public static ServerBuilder serverAt(ActorSystem<?> system, GatewaySettings settings) {
        ServerBuilder server = Http.get(system).newServerAt(settings.host(), settings.port());
        return settings.https() ? server.enableHttps(ConnectionContext.httpsServer(
                PemTls.serverContext(Path.of(settings.tlsCertFile()), Path.of(settings.tlsKeyFile())))) : server;
    }

    /**
     * Binds with at most {@code perClient} open connections per client address: one more gets a 429
     * in OpenAI's shape and is closed. Requests on admitted connections take the same handler.
     */
    private CompletionStage<ServerBinding> bindLimited(ServerBuilder server, Function<HttpRequest, CompletionStage<HttpResponse>> handler,
                                                       int perClient) {
        Materializer materializer = Materializer.matFromSystem(system);
        Map<InetAddress, AtomicInteger> open = new ConcurrentHashMap<>();
        HttpResponse tooMany = OpenAiErrors.refused(429, "too_many_connections", "this client address already has "
                + perClient + " connections open, the most a client may (llmrt.gateway.max-connections-per-client)",
                Duration.ofSeconds(1));
        Flow<HttpRequest, HttpResponse, CompletionStage<Done>> serve = Flow.of(HttpRequest.class)
                .mapAsync(1, request -> handler.apply(request).handleAsync((response, e) -> e == null ? response
                        : OpenAiErrors.internal("the request failed: " + e), Runnable::run))
                .watchTermination(Keep.right());
        return server.connectionSource().to(Sink.foreach(connection -> {
            InetAddress client = connection.remoteAddress().getAddress();
            AtomicInteger count = open.computeIfAbsent(client, k -> new AtomicInteger());
            if (count.incrementAndGet() > perClient) {
                count.decrementAndGet();
                connection.handleWith(Flow.of(HttpRequest.class).map(r -> tooMany).take(1), materializer);
                return;
            }
            connection.handleWith(serve, materializer).whenComplete((done, e) -> open.computeIfPresent(client,
                    (k, n) -> n.decrementAndGet() == 0 ? null : n));
        })).run(materializer);
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
