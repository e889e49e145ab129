package dev.llmrt.agent.runner;

import dev.llmrt.agent.AgentSettings;
import dev.llmrt.agent.runner.io.RunnerHttpClient;
import dev.llmrt.agent.runner.io.RunnerIo;
import dev.llmrt.runtime.process.HealthProbe;
import dev.llmrt.runtime.spi.Inference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;

/** HTTP to one backend process over its Unix socket: requests without blocking, readiness probes apart. */
public final class RunnerClient {
    private final Path socket;
    private final Executor probes;
    private final RunnerHttpClient http;

    public RunnerClient(ActorSystem<?> system, Path socket, AgentSettings.Client settings) {
        this.socket = socket;
        this.probes = system.dispatchers().lookup(DispatcherSelector.fromConfig(settings.probeDispatcher()));
        this.http = RunnerIo.get(system).client(socket, settings.limits());
    }

    /**
     * GET {@code /health} (llama-server answers 503 while loading, 200 when ready), as one blocking
     * exchange on its own connection: readiness polls must not wait behind requests. -1: no answer
     * within {@code timeout}.
     */
    public CompletionStage<Integer> health(java.time.Duration timeout) {
        if (!Files.exists(socket)) {
            return CompletableFuture.completedFuture(-1); // not bound yet
        }
        return CompletableFuture.supplyAsync(() -> HealthProbe.status(socket, timeout), probes);
    }

    /** POSTs a JSON body to {@code path}; the answer goes to {@code handler}, on the I/O thread. */
    public void post(String path, byte[] json, String origin, String requestId, RunnerHttpClient.ResponseHandler handler) {
        http.post(path, json, origin, Inference.REQUEST_ORIGIN_HEADER, requestId, handler);
    }

    /** Closes idle connections; requests still running finish. */
    public void close() {
        http.close();
    }
}
