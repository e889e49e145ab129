package dev.llmrt.deploy;

import com.typesafe.config.Config;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.agent.runner.UnixSocketTransport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llmrt bench}: non-streaming chat requests through the gateway and straight to the sim
 * runner's socket, alternated in rounds in one run, so the figures compare side by side.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures requests/s and p50/p99 latency of non-streaming chat requests through the "
                + "gateway vs straight to the runner's Unix socket, side by side, in one run.",
                "Starts its own node on loopback (embedded default, free port); sends to 127.0.0.1 only."})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Model to call (default: ${DEFAULT-VALUE}).", defaultValue = "sim/fast")
    String model;

    @Option(names = "--requests", description = "Requests per target per round (default: ${DEFAULT-VALUE}).",
            defaultValue = "5000")
    int requests;

    @Option(names = "--concurrency", description = "Requests in flight at once (default: ${DEFAULT-VALUE}).",
            defaultValue = "32")
    int concurrency;

    @Option(names = "--rounds", description = "Alternating rounds; the first is warm-up (default: ${DEFAULT-VALUE}).",
            defaultValue = "4")
    int rounds;

    @Override
    public Integer call() throws Exception {
        if (requests < 1 || concurrency < 1 || rounds < 2) {
            System.err.println("llmrt bench: --requests and --concurrency must be >= 1, --rounds >= 2");
            return 2;
        }
        Config cfg = ServeCommand.load(null, "127.0.0.1", 0, null);
        LlmrtNode node = LlmrtNode.start(cfg);
        try {
            LlmrtNode.Started started = node.started().toCompletableFuture().get(120, TimeUnit.SECONDS);
            ActorSystem<Void> system = node.system();
            Http http = Http.get(system.classicSystem());
            byte[] body = ("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}")
                    .getBytes(StandardCharsets.UTF_8);
            ConnectionPoolSettings tcpPool = ConnectionPoolSettings.create(system.classicSystem())
                    .withMaxConnections(concurrency).withMaxOpenRequests(Integer.highestOneBit(concurrency * 2) * 2);
            String gatewayUrl = "http://127.0.0.1:" + started.port() + "/v1/chat/completions";
            Supplier<CompletionStage<HttpResponse>> viaGateway = () -> http.singleRequest(
                    HttpRequest.POST(gatewayUrl).withEntity(ContentTypes.APPLICATION_JSON, body),
                    http.defaultClientHttpsContext(), tcpPool, system.classicSystem().log());
            // the first call through the gateway starts the runner; then we know its socket
            HttpResponse first = viaGateway.get().toCompletableFuture().get(120, TimeUnit.SECONDS);
            first.discardEntityBytes(system);
            if (first.status().intValue() != 200) {
                System.err.println("llmrt bench: model '" + model + "' answered " + first.status());
                return 1;
            }
            Path socket = runnerSocket(system, started);
            ConnectionPoolSettings unixPool = tcpPool.withConnectionSettings(ClientConnectionSettings
                    .create(system.classicSystem()).withTransport(new UnixSocketTransport(socket, "llmrt.agent.runner-io-dispatcher")));
            Supplier<CompletionStage<HttpResponse>> direct = () -> http.singleRequest(
                    HttpRequest.POST("http://localhost/v1/chat/completions").withEntity(ContentTypes.APPLICATION_JSON, body),
                    http.defaultClientHttpsContext(), unixPool, system.classicSystem().log());

            System.out.printf("bench: %s, %d requests x %d rounds per target, concurrency %d, %d cores%n", model,
                    requests, rounds - 1, concurrency, Runtime.getRuntime().availableProcessors());
            List<long[]> gw = new ArrayList<>();
            List<long[]> dr = new ArrayList<>();
            double gwSeconds = 0;
            double drSeconds = 0;
            for (int round = 0; round < rounds; round++) {
                Result g = run(system, viaGateway);
                Result d = run(system, direct);
                if (round == 0) {
                    continue; // warm-up
                }
                gw.add(g.latencies);
                dr.add(d.latencies);
                gwSeconds += g.seconds;
                drSeconds += d.seconds;
                System.out.printf("round %d: gateway %.0f req/s, direct %.0f req/s (errors %d / %d)%n", round,
                        requests / g.seconds, requests / d.seconds, g.errors, d.errors);
            }
            Stats g = Stats.of(gw, gwSeconds);
            Stats d = Stats.of(dr, drSeconds);
            System.out.printf("%-22s %10s %10s %10s%n", "target", "req/s", "p50 ms", "p99 ms");
            System.out.printf("%-22s %10.0f %10.2f %10.2f%n", "gateway (HTTP, actors)", g.rps, g.p50, g.p99);
            System.out.printf("%-22s %10.0f %10.2f %10.2f%n", "direct (runner socket)", d.rps, d.p50, d.p99);
            System.out.printf("ratio gateway/direct: throughput %.2f, p50 %.2f, p99 %.2f%n", g.rps / d.rps,
                    g.p50 / d.p50, g.p99 / d.p99);
            return 0;
        } finally {
            node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    private Path runnerSocket(ActorSystem<Void> system, LlmrtNode.Started started) throws Exception {
        NodeAgent.Runners runners = AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.agent(),
                NodeAgent.ListRunners::new, Duration.ofSeconds(5), system.scheduler()).toCompletableFuture().get();
        RunnerStatus status = runners.runners().stream().filter(r -> r.model().equals(model)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no runner for " + model));
        return Path.of(status.socket());
    }

    private record Result(long[] latencies, double seconds, long errors) {}

    private Result run(ActorSystem<Void> system, Supplier<CompletionStage<HttpResponse>> call) throws Exception {
        long t0 = System.nanoTime();
        List<Long> lat = Source.range(1, requests)
                .mapAsyncUnordered(concurrency, i -> {
                    long s = System.nanoTime();
                    return call.get().thenComposeAsync(r -> r.entity().toStrict(30_000, Materializer.matFromSystem(system))
                            .thenApplyAsync(strict -> r.status().intValue() == 200 ? System.nanoTime() - s : -1L,
                                    system.executionContext()), system.executionContext());
                })
                .runWith(Sink.seq(), system)
                .toCompletableFuture().get(10, TimeUnit.MINUTES);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long errors = lat.stream().filter(x -> x < 0).count();
        return new Result(lat.stream().filter(x -> x >= 0).mapToLong(Long::longValue).toArray(), seconds, errors);
    }

    private record Stats(double rps, double p50, double p99) {
        static Stats of(List<long[]> rounds, double seconds) {
            long[] all = rounds.stream().flatMapToLong(Arrays::stream).sorted().toArray();
            return new Stats(all.length / seconds, pct(all, 0.50), pct(all, 0.99));
        }

        private static double pct(long[] sorted, double p) {
            if (sorted.length == 0) {
                return Double.NaN;
            }
            return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
        }
    }
}
