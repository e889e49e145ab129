package dev.llmrt.agent.runner;

import dev.llmrt.agent.AgentSettings;
import dev.llmrt.runtime.process.HealthProbe;
import java.nio.file.Path;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;

/** HTTP to one backend process over its Unix socket, through a Pekko HTTP connection pool of its own. */
public final class RunnerClient {
    private final Http http;
    private final org.apache.pekko.actor.ActorSystem classic;
    private final ConnectionPoolSettings pool;
    private final Path socket;
    private final java.util.concurrent.Executor healthExecutor;

    public RunnerClient(ActorSystem<?> system, Path socket, AgentSettings.Client settings) {
        this.socket = socket;
        this.healthExecutor = system.dispatchers().lookup(
                org.apache.pekko.actor.typed.DispatcherSelector.fromConfig(settings.ioDispatcher()));
        this.classic = system.classicSystem();
        this.http = Http.get(classic);
        ClientConnectionSettings connection = ClientConnectionSettings.create(system.classicSystem())
                .withTransport(new UnixSocketTransport(socket, settings.ioDispatcher()))
                .withIdleTimeout(settings.idleTimeout());
        // llama-server sends an empty Access-Control-Allow-Origin: harmless, but Pekko warns per response
        connection = connection.withParserSettings(connection.getParserSettings().withIllegalHeaderWarnings(false));
        this.pool = ConnectionPoolSettings.create(system.classicSystem())
                .withConnectionSettings(connection)
                .withMaxConnections(settings.maxConnections())
                .withMaxOpenRequests(settings.maxOpenRequests())
                .withMaxRetries(0)
                // a runner's socket appears when its process binds it: retry connecting quickly, and
                // never let Pekko's default backoff (up to 2 min) stall requests after a restart
                .withBaseConnectionBackoff(settings.minConnectBackoff())
                .withMaxConnectionBackoff(settings.maxConnectBackoff());
    }

    /**
     * GET {@code /health} (llama-server answers 503 while loading, 200 when ready), as one blocking
     * exchange on its own connection: readiness polls must not wait for a connection pool to warm up.
     */
    public CompletionStage<Integer> health() {
        if (!java.nio.file.Files.exists(socket)) {
            return java.util.concurrent.CompletableFuture.completedFuture(-1); // not bound yet
        }
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> HealthProbe.status(socket), healthExecutor);
    }


    /** POSTs a JSON body to {@code path}. The response entity is the caller's to consume. */
    public CompletionStage<HttpResponse> post(String path, byte[] json, String origin) {
        HttpRequest request = HttpRequest.POST("http://localhost" + path).withEntity(ContentTypes.APPLICATION_JSON, json);
        if (origin != null && !origin.isEmpty()) {
            request = request.addHeader(org.apache.pekko.http.javadsl.model.HttpHeader.parse(
                    dev.llmrt.runtime.spi.Inference.REQUEST_ORIGIN_HEADER, origin));
        }
        return http.singleRequest(request, http.defaultClientHttpsContext(), pool, classic.log());
    }
}
