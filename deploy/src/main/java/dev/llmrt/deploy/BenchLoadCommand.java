package dev.llmrt.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.Backends;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import dev.llmrt.runtime.process.HealthProbe;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RunContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code llmrt bench-load MODEL.gguf}: how long a llama.cpp model takes to be ready through the
 * runtime (supervisor start to ready, and to the first answer through the gateway) beside
 * llama-server's own {@code /health} readiness (same launch, polled every millisecond), alternated.
 */
@Command(name = "bench-load", mixinStandardHelpOptions = true,
        description = "Load-to-ready time of a GGUF model through the runtime vs llama-server's own /health readiness.")
final class BenchLoadCommand implements Callable<Integer> {

    @Parameters(paramLabel = "MODEL.gguf", description = "Model to load (e.g. from 'llmrt gguf generate').")
    Path model;

    @Option(names = "--rounds", defaultValue = "5", description = "Rounds of each (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
        Optional<Path> binary = LlamaCppBackend.locate("");
        if (binary.isEmpty()) {
            System.err.println("llmrt bench-load: llama-server not found: " + LlamaCppBackend.INSTALL_HINT);
            return 1;
        }
        String catalog = """
                llmrt.models = [ { name = "bench", backend = "llama.cpp", model = "%s", context-size = 1024, keep-alive = "-1" } ]
                """.formatted(model.toAbsolutePath());
        Config cfg = ConfigFactory.parseString(catalog).withFallback(ServeCommand.load(null, "127.0.0.1", 0, null));
        LlmrtNode node = LlmrtNode.start(cfg);
        LlmrtNode.Started started = node.started().toCompletableFuture().get(60, TimeUnit.SECONDS);
        LlamaCppBackend direct = (LlamaCppBackend) Backends.fromConfig(cfg).get(LlamaCppBackend.NAME);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Path dir = Files.createTempDirectory("bench-load");
        List<Double> own = new ArrayList<>();
        List<Double> runtimeReady = new ArrayList<>();
        List<Double> firstAnswer = new ArrayList<>();
        try {
            for (int round = 0; round <= rounds; round++) {
                double d = directReadyMs(direct, dir.resolve("d" + round + ".sock"));
                long t0 = System.nanoTime();
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + started.port()
                        + "/v1/chat/completions")).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"bench\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                double answer = (System.nanoTime() - t0) / 1e6;
                if (r.statusCode() != 200) {
                    System.err.println("llmrt bench-load: " + r.statusCode() + " " + r.body());
                    return 1;
                }
                RunnerStatus s = AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.agent(), NodeAgent.ListRunners::new,
                        Duration.ofSeconds(5), node.system().scheduler()).toCompletableFuture().get().runners().get(0);
                AskPattern.<NodeAgent.Command, NodeAgent.Unloaded>ask(started.agent(),
                        replyTo -> new NodeAgent.Unload(true, List.of(), replyTo), Duration.ofSeconds(5),
                        node.system().scheduler()).toCompletableFuture().get();
                awaitNoRunners(node, started);
                if (round == 0) {
                    continue; // warm-up: page cache, JIT
                }
                own.add(d);
                runtimeReady.add((double) (s.readyAt() - s.startedAt()));
                firstAnswer.add(answer);
                System.out.printf("round %d: llama-server /health %.1f ms, runtime ready %d ms, first answer via gateway %.1f ms%n",
                        round, d, s.readyAt() - s.startedAt(), answer);
            }
            double o = median(own);
            double rr = median(runtimeReady);
            double fa = median(firstAnswer);
            System.out.printf("median: llama-server own readiness %.1f ms; runtime ready %.1f ms (overhead %.1f ms, x%.2f); "
                    + "first answer through the gateway %.1f ms%n", o, rr, rr - o, rr / o, fa);
            return 0;
        } finally {
            node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    private double directReadyMs(LlamaCppBackend backend, Path socket) throws Exception {
        RunContext ctx = RunContext.create();
        long t0 = System.nanoTime();
        CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
            try {
                backend.run(ctx, socket, model.toAbsolutePath().toString(), "bench", BackendMode.COMPLETION,
                        new BackendConfiguration(1024L, List.of(), null));
            } catch (BackendException e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            while (HealthProbe.status(socket, java.time.Duration.ofSeconds(5)) != 200) {
                if (run.isDone() || System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(60)) {
                    throw new IllegalStateException("llama-server did not become healthy");
                }
                Thread.sleep(1);
            }
            return (System.nanoTime() - t0) / 1e6;
        } finally {
            ctx.cancel();
            run.get(30, TimeUnit.SECONDS);
        }
    }

    private static void awaitNoRunners(LlmrtNode node, LlmrtNode.Started started) throws Exception {
        for (int i = 0; i < 500; i++) {
            if (AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.agent(), NodeAgent.ListRunners::new,
                    Duration.ofSeconds(5), node.system().scheduler()).toCompletableFuture().get().runners().isEmpty()) {
                return;
            }
            Thread.sleep(10);
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = xs.stream().sorted().toList();
        return s.get(s.size() / 2);
    }
}
