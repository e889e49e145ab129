package dev.llmrt.deploy.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.llmrt.agent.NodeAgent;
import dev.llmrt.agent.runner.RunnerStatus;
import dev.llmrt.deploy.LlmrtNode;
import dev.llmrt.deploy.ServeCommand;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.typed.Cluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llmrt bench}: what the gateway costs next to the runner's socket and to nginx in front of
 * the same socket, measured side by side in one run, rounds alternated: non-streaming throughput
 * and latency at several concurrencies (wrk), streaming time to first token and gap per token, the
 * cross-node path (a gateway in a second JVM), cold load, memory and threads with many streams open,
 * and {@code serve}'s start-up. Sends to 127.0.0.1 only.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures the gateway against the runner's Unix socket and nginx in front of it, side by side "
                + "in one run: throughput and latency (wrk), streaming first token and gaps, cross-node, cold load, "
                + "many open streams, start-up.",
                "Starts its own node on loopback (embedded default, free ports); sends to 127.0.0.1 only."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--short", description = "A quick run (CI): fewer rounds and requests, concurrency 1 and 32.")
    boolean quick;

    @Option(names = "--model", description = "Model for non-streaming requests (default: ${DEFAULT-VALUE}).",
            defaultValue = "sim/fast")
    String model;

    @Option(names = "--concurrency", split = ",", description = "Concurrencies (default: 1,32,256; --short: 1,32).")
    List<Integer> concurrency;

    @Option(names = "--seconds", description = "Seconds per target per round (default: 5; --short: 1).")
    Double seconds;

    @Option(names = "--rounds", description = "Rounds per concurrency, the first a warm-up (default: 3; --short: 2).")
    Integer rounds;

    @Option(names = "--streams", description = "Streams held open at once for the memory figure (default: 1000; --short: 200).")
    Integer streams;

    @Option(names = "--skip", split = ",", paramLabel = "PART",
            description = "Parts to leave out: throughput, streaming, keys, cross-node, cold, streams, startup.")
    List<String> skip = List.of();

    private static final String STREAM_MODEL = "sim/tiny";
    private static final String MANY_MODEL = "bench/streams";

    private final Report report = new Report();

    @Override
    public Integer call() throws Exception {
        List<Integer> levels = concurrency != null ? concurrency : quick ? List.of(1, 32) : List.of(1, 32, 256);
        double secs = seconds != null ? seconds : quick ? 1 : 5;
        int nRounds = rounds != null ? rounds : quick ? 2 : 3;
        int nStreams = streams != null ? streams : quick ? 200 : 1000;
        if (nRounds < 2 || secs <= 0 || levels.isEmpty() || levels.stream().anyMatch(c -> c < 1) || nStreams < 1) {
            System.err.println("llmrt bench: --rounds >= 2, --seconds > 0, --concurrency >= 1, --streams >= 1");
            return 2;
        }
        Path work = Files.createTempDirectory("llmrt-bench-");
        if (!skip.contains("startup")) {
            startup(work); // first, while nothing else of the bench runs
        }
        Path extra = work.resolve("bench.conf");
        Files.writeString(extra, """
                llmrt.models += { name = "%s", backend = sim, max-concurrency-per-replica = 4096, runtime-flags = ["--ttft-ms=20", "--tpot-ms=250", "--max-tokens=40", "--max-seqs=4096"] }
                llmrt.models += { name = "bench/cold-1", backend = sim, runtime-flags = ["--max-tokens=4"] }
                llmrt.models += { name = "bench/cold-2", backend = sim, runtime-flags = ["--max-tokens=4"] }
                llmrt.models += { name = "bench/cold-3", backend = sim, runtime-flags = ["--max-tokens=4"] }
                """.formatted(MANY_MODEL));
        Config cfg = ServeCommand.load(extra.toFile(), "127.0.0.1", 0, null);
        cfg = ConfigFactory.parseString("pekko.remote.artery.canonical.port = " + Tools.freePort()).withFallback(cfg);
        LlmrtNode node = LlmrtNode.start(cfg);
        try {
            LlmrtNode.Started started = node.started().toCompletableFuture().get(120, TimeUnit.SECONDS);
            ActorSystem<Void> system = node.system();
            int port = started.port();
            byte[] body = chat(model, false);
            RawHttp.Target gateway = RawHttp.Target.tcp("gateway", port);
            try (RawHttp first = new RawHttp(gateway)) {
                int status = first.post("/v1/chat/completions", body).status();
                if (status != 200) {
                    System.err.println("llmrt bench: model '" + model + "' answered " + status);
                    return 1;
                }
                first.post("/v1/chat/completions", chat(STREAM_MODEL, true));
            }
            Path socket = socketOf(system, started, model);
            Path streamSocket = socketOf(system, started, STREAM_MODEL);
            System.out.printf("llmrt bench: %s, %d cores, %s, rounds alternated (first a warm-up), %s%n",
                    quick ? "short" : "full", Runtime.getRuntime().availableProcessors(),
                    System.getProperty("java.vm.name") + " " + Runtime.version(),
                    Wrk.available() ? "load from wrk" : "wrk not on the PATH: load from the bench's own client");
            try (NginxProxy nginx = NginxProxy.available() ? NginxProxy.start(work, socket) : null;
                 NginxProxy nginxStream = NginxProxy.available() ? NginxProxy.start(work.resolve("s"), streamSocket) : null) {
                if (nginx == null) {
                    System.out.println("(nginx not on the PATH: no nginx column; deploy/scripts/setup.sh installs it)");
                }
                if (!skip.contains("throughput")) {
                    throughput(work, port, socket, nginx, levels, secs, nRounds, body);
                }
                if (!skip.contains("streaming")) {
                    streaming(port, streamSocket, nginxStream, quick ? 10 : 100, nRounds);
                }
            }
            if (!skip.contains("keys")) {
                keys(work, cfg, port, body, secs, nRounds);
            }
            if (!skip.contains("cross-node")) {
                crossNode(work, system, port, body, secs, nRounds);
            }
            if (!skip.contains("cold")) {
                cold(system, started, port);
            }
            if (!skip.contains("streams")) {
                manyStreams(port, nStreams);
            }
        } finally {
            node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        System.out.println();
        report.print(System.out);
        return 0;
    }

    // ---- non-streaming throughput and latency ----

    private void throughput(Path work, int port, Path socket, NginxProxy nginx, List<Integer> levels, double secs,
                            int nRounds, byte[] body) throws Exception {
        Wrk wrk = Wrk.available() ? new Wrk(work, body) : null;
        for (int c : levels) {
            report.throughput(c, rounds("c=" + c, nRounds, warmUp -> {
                // the first round warms the JIT up: longer than the others
                double s = warmUp ? Math.max(secs, quick ? 3 : 10) : secs;
                Map<String, Wrk.Figures> r = new LinkedHashMap<>();
                r.put("direct", Load.run(RawHttp.Target.unix("direct", socket), body, c, s));
                long cpu0 = Cpu.ofThisJvm();
                Wrk.Figures g = tcpLoad(wrk, "gateway", port, body, c, s);
                // with wrk, this JVM runs only the gateway and the agent meanwhile: their CPU per request
                r.put("gateway", wrk != null ? g.withCpu(Cpu.ofThisJvm() - cpu0, s) : g);
                if (nginx != null) {
                    long n0 = nginx.cpuNanos();
                    Wrk.Figures n = tcpLoad(wrk, "nginx", nginx.port, body, c, s);
                    r.put("nginx", n.withCpu(nginx.cpuNanos() - n0, s));
                }
                return r;
            }));
        }
    }

    // ---- API keys: off, on, on with limits (c=32) ----

    /**
     * The gateway with keys off, with a key (checked on every request), and with a key whose limits
     * no load here reaches (so every request asks its key's limiter entity too), alternated per
     * round. Keys once on stay on (they fail closed), so the keyed targets are a second node of the
     * same configuration in this JVM, its admin key given at start, its limited key made through
     * the admin routes.
     */
    private void keys(Path work, Config cfg, int port, byte[] body, double secs, int nRounds) throws Exception {
        if (!Wrk.available()) {
            System.out.println("(wrk not on the PATH: no keys section; deploy/scripts/setup.sh installs it)");
            return;
        }
        String admin = dev.llmrt.gateway.security.ApiKeys.newKey();
        LlmrtNode keyedNode = LlmrtNode.start(ConfigFactory.parseString("pekko.remote.artery.canonical.port = " + Tools.freePort()
                + "\nllmrt.gateway.admin-key = \"" + admin + "\"").withFallback(cfg));
        try {
            int keyedPort = keyedNode.started().toCompletableFuture().get(120, TimeUnit.SECONDS).port();
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String limited = makeKey(http, keyedPort, admin, "{\"name\":\"bench-limited\",\"rpm\":1000000000,"
                    + "\"tpm\":2000000000,\"max_concurrent\":1000000}");
            HttpResponse<String> first = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + keyedPort
                            + "/v1/chat/completions")).header("Authorization", "Bearer " + admin)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (first.statusCode() != 200) {
                throw new IOException("the keyed node answered " + first.statusCode() + ": " + first.body());
            }
            Path keyed = Files.createDirectories(work.resolve("keyed"));
            Path limits = Files.createDirectories(work.resolve("limited"));
            String keyedUrl = "http://127.0.0.1:" + keyedPort + "/v1/chat/completions";
            Map<String, List<Wrk.Figures>> byTarget = rounds("keys", nRounds, warmUp -> {
                double s = warmUp ? Math.max(secs, quick ? 2 : 5) : secs;
                Map<String, Wrk.Figures> r = new LinkedHashMap<>();
                r.put("keys off", new Wrk(work, body).run("http://127.0.0.1:" + port + "/v1/chat/completions", 32, s));
                r.put("key", new Wrk(keyed, body, admin).run(keyedUrl, 32, s));
                r.put("key with limits", new Wrk(limits, body, limited).run(keyedUrl, 32, s));
                return r;
            });
            report.keys(byTarget);
        } finally {
            keyedNode.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    private static String makeKey(HttpClient http, int port, String admin, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/keys"))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (admin != null) {
            b.header("Authorization", "Bearer " + admin);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IOException("POST /keys answered " + r.statusCode() + ": " + r.body());
        }
        return r.body().replaceAll(".*\"key\":\"([^\"]+)\".*", "$1");
    }

    /** One alternation of the targets: what each gave. */
    private interface Round {
        Map<String, Wrk.Figures> run(boolean warmUp) throws Exception;
    }

    /** Rounds printed as they go, the first a warm-up; what the measured ones gave, per target. */
    private static Map<String, List<Wrk.Figures>> rounds(String label, int nRounds, Round round) throws Exception {
        Map<String, List<Wrk.Figures>> byTarget = new LinkedHashMap<>();
        for (int i = 0; i < nRounds; i++) {
            Map<String, Wrk.Figures> r = round.run(i == 0);
            System.out.printf("%s round %d%s: %s%n", label, i, i == 0 ? " (warm-up)" : "", Report.brief(r));
            if (i > 0) {
                r.forEach((k, v) -> byTarget.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
            }
        }
        return byTarget;
    }

    /** Load on a loopback port: from wrk when it is installed, else from the bench's own client. */
    private static Wrk.Figures tcpLoad(Wrk wrk, String name, int port, byte[] body, int c, double secs) throws Exception {
        return wrk != null ? wrk.run("http://127.0.0.1:" + port + "/v1/chat/completions", c, secs)
                : Load.run(RawHttp.Target.tcp(name, port), body, c, secs);
    }

    // ---- streaming: time to first token, gap per token ----

    private void streaming(int port, Path socket, NginxProxy nginx, int requests, int nRounds) throws Exception {
        byte[] body = chat(STREAM_MODEL, true);
        List<RawHttp.Target> targets = new ArrayList<>(List.of(RawHttp.Target.unix("direct", socket),
                RawHttp.Target.tcp("gateway", port)));
        if (nginx != null) {
            targets.add(RawHttp.Target.tcp("nginx", nginx.port));
        }
        Map<String, List<RawHttp.Timing>> timings = new LinkedHashMap<>();
        for (int round = 0; round < nRounds; round++) {
            for (RawHttp.Target t : targets) {
                try (RawHttp client = new RawHttp(t)) {
                    for (int i = 0; i < requests; i++) {
                        RawHttp.Timing timing = client.post("/v1/chat/completions", body);
                        if (round > 0 && timing.status() == 200) {
                            timings.computeIfAbsent(t.name(), x -> new ArrayList<>()).add(timing);
                        }
                    }
                }
            }
        }
        report.streaming(STREAM_MODEL, timings);
    }

    // ---- a gateway in another JVM, the agent in this one ----

    /**
     * How long a JVM the bench starts may take to answer /ready: 2-3 s on an idle machine, but a
     * shared 2-core machine under heavy load has taken over 60 s.
     */
    private static final Duration SECOND_JVM_READY = Duration.ofSeconds(180);

    private void crossNode(Path work, ActorSystem<Void> system, int port, byte[] body, double secs, int nRounds)
            throws Exception {
        int remotePort = Tools.freePort();
        String seed = Cluster.get(system).selfMember().address().toString();
        Process gateway = javaProcess(work.resolve("cross-node.log"), "serve", "--role", "gateway", "--port",
                String.valueOf(remotePort), "--cluster-port", String.valueOf(Tools.freePort()), "--seed-node", seed, "--state-dir", work.resolve("state-cross-node").toString());
        try {
            if (!awaitReady(remotePort, SECOND_JVM_READY)) {
                System.out.println("cross-node: the second JVM's gateway was not ready in " + SECOND_JVM_READY.toSeconds()
                        + " s; see " + work.resolve("cross-node.log"));
                return;
            }
            try (RawHttp first = new RawHttp(RawHttp.Target.tcp("x", remotePort))) {
                first.post("/v1/chat/completions", body);
            }
            Wrk wrk = Wrk.available() ? new Wrk(work, body) : null;
            Map<String, List<Wrk.Figures>> byTarget = rounds("cross-node", nRounds, warmUp -> {
                Map<String, Wrk.Figures> r = new LinkedHashMap<>();
                r.put("same node", tcpLoad(wrk, "same node", port, body, 32, secs));
                r.put("cross-node", tcpLoad(wrk, "cross-node", remotePort, body, 32, secs));
                return r;
            });
            Map<String, List<RawHttp.Timing>> single = new LinkedHashMap<>();
            for (int round = 0; round < nRounds; round++) {
                for (var e : List.of(Map.entry("same node", port), Map.entry("cross-node", remotePort))) {
                    try (RawHttp client = new RawHttp(RawHttp.Target.tcp(e.getKey(), e.getValue()))) {
                        for (int i = 0; i < (quick ? 100 : 1000); i++) {
                            RawHttp.Timing t = client.post("/v1/chat/completions", body);
                            if (round > 0) {
                                single.computeIfAbsent(e.getKey(), x -> new ArrayList<>()).add(t);
                            }
                        }
                    }
                }
            }
            report.crossNode(byTarget, single);
        } finally {
            gateway.destroy();
            if (!gateway.waitFor(30, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
        }
    }

    // ---- cold load: first request to first token, minus the backend's own start ----

    private void cold(ActorSystem<Void> system, LlmrtNode.Started started, int port) throws Exception {
        List<long[]> samples = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            String name = "bench/cold-" + i;
            RawHttp.Timing t;
            try (RawHttp client = new RawHttp(RawHttp.Target.tcp("gateway", port))) {
                t = client.post("/v1/chat/completions", chat(name, true));
            }
            RunnerStatus s = runner(system, started, name);
            long backendStart = TimeUnit.MILLISECONDS.toNanos(s.readyAt() - s.startedAt());
            samples.add(new long[] {t.firstPartNanos(), backendStart});
        }
        report.cold(samples);
    }

    // ---- many streams open at once ----

    private void manyStreams(int port, int n) throws Exception {
        System.gc();
        int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
        long t0 = System.nanoTime();
        try (OpenStreams open = new OpenStreams(port, "/v1/chat/completions", chat(MANY_MODEL, true), n)) {
            int got = open.awaitEvents(t0 + TimeUnit.SECONDS.toNanos(30));
            double allIn = (System.nanoTime() - t0) / 1e9;
            System.gc();
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            int threads = ManagementFactory.getThreadMXBean().getThreadCount();
            report.streams(n, got, allIn, heap, rssBytes(), threadsBefore, threads);
        }
    }

    // ---- start-up ----

    private void startup(Path work) throws Exception {
        Path archive = work.resolve("llmrt.jsa");
        Process record = javaProcess(work.resolve("startup-archive.log"), "-XX:ArchiveClassesAtExit=" + archive, "--",
                "serve", "--port", "0", "--socket-dir", work.resolve("sock-archive").toString(), "--state-dir",
                work.resolve("state-archive").toString(), "--exit-when-ready");
        if (!record.waitFor(120, TimeUnit.SECONDS)) {
            record.destroyForcibly();
        }
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        for (int round = 0; round < (quick ? 1 : 2); round++) { // alternated, the best of each kept
            ms.computeIfAbsent("plain", k -> new ArrayList<>()).add(serveUntilReady(work, "plain", List.of()));
            if (Files.exists(archive)) {
                ms.computeIfAbsent("AppCDS (deploy/scripts/serve.sh)", k -> new ArrayList<>())
                        .add(serveUntilReady(work, "cds", List.of("-XX:SharedArchiveFile=" + archive)));
            }
        }
        Map<String, Double> best = new LinkedHashMap<>();
        ms.forEach((k, v) -> best.put(k, v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN)));
        report.startup(best, Files.exists(archive) ? null
                : "no class archive could be recorded (a class path with directories, as under Maven, has none); see "
                        + work.resolve("startup-archive.log"));
    }

    /** Milliseconds from starting a {@code serve} JVM to its {@code /ready} answering 200; then stops it. */
    private double serveUntilReady(Path work, String name, List<String> jvmFlags) throws Exception {
        int port = Tools.freePort();
        long t0 = System.nanoTime();
        List<String> args = new ArrayList<>(jvmFlags);
        args.addAll(List.of("--", "serve", "--port", String.valueOf(port), "--socket-dir", work.resolve("sock-" + name).toString(),
                "--state-dir", work.resolve("state-" + name).toString()));
        Process p = javaProcess(work.resolve("startup-" + name + ".log"), args.toArray(String[]::new));
        try {
            boolean ready = awaitReady(port, SECOND_JVM_READY);
            double elapsed = (System.nanoTime() - t0) / 1e6;
            return ready ? elapsed : Double.NaN;
        } finally {
            p.destroy(); // SIGTERM: coordinated shutdown, and the JVM writes its class archive on exit
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    /** This JVM's java and class path running {@code Main} with {@code args} (JVM flags before "--"). */
    private static Process javaProcess(Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        int split = Arrays.asList(args).indexOf("--");
        if (split >= 0) {
            cmd.addAll(Arrays.asList(args).subList(0, split));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.llmrt.deploy.Main"));
        cmd.addAll(Arrays.asList(args).subList(split + 1, args.length));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static boolean awaitReady(int port, Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return true;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(10);
        }
        return false;
    }

    // ---- helpers ----

    private static byte[] chat(String model, boolean stream) {
        return ("{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}").getBytes(StandardCharsets.UTF_8);
    }

    private static RunnerStatus runner(ActorSystem<Void> system, LlmrtNode.Started started, String model) throws Exception {
        NodeAgent.Runners runners = AskPattern.<NodeAgent.Command, NodeAgent.Runners>ask(started.agent(),
                NodeAgent.ListRunners::new, Duration.ofSeconds(5), system.scheduler()).toCompletableFuture().get();
        return runners.runners().stream().filter(r -> r.model().equals(model)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no runner for " + model));
    }

    private static Path socketOf(ActorSystem<Void> system, LlmrtNode.Started started, String model) throws Exception {
        return Path.of(runner(system, started, model).socket());
    }

    private static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }
}
