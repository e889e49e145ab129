package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Collections;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.time.LocalTime;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Chaos on the real start-up path: three separate JVMs ('llmrt serve') form a cluster by seed node
 * on loopback; clients send a steady load of non-streaming and streaming chats to the gateway for
 * 30 s, to model m10 (one replica) and model 'pair' (two replicas, one on each GPU node), and halfway
 * the node serving m10 is SIGKILLed. 'pair' must answer without a gap. Every non-streaming request must get a
 * 200, every stream must end with its last token or an error event, none may take 30 s; the test
 * prints what was sent, what succeeded, what was sent again, and how long until the model served
 * again, with where that time went (from the nodes' logs).
 */
class ClusterChaosTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration LOAD = Duration.ofSeconds(30);
    private static final int PLAIN_CLIENTS = 4;
    private static final int STREAM_CLIENTS = 2;
    private static final int PAIR_CLIENTS = 3;
    private static final List<ServeJvm> jvms = new ArrayList<>();
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private static ServeJvm start(Path dir, String name, String gpus, String seed) throws Exception {
        ServeJvm node = ServeJvm.start(dir, name, """
                llmrt.agent.gpus = %s
                llmrt.models = [
                  { name = "m10", backend = sim, keep-alive = "-1", runtime-flags = [
                    "--vram-mb=10240", "--ttft-ms=20", "--tpot-ms=5", "--max-tokens=16", "--max-seqs=16"] }
                  { name = "pair", backend = sim, keep-alive = "-1", replicas = 2, runtime-flags = [
                    "--vram-mb=2048", "--ttft-ms=20", "--tpot-ms=5", "--max-tokens=16", "--max-seqs=16"] }
                ]
                """.formatted(gpus), seed);
        jvms.add(node);
        return node;
    }

    /** Nodes a and b with a GPU each, gateway-and-agent node c without: started, joined, serving m10. */
    private static List<ServeJvm> threeNodes(Path dir) throws Exception {
        ServeJvm a = start(dir, "a", "[ { memory = 24GiB } ]", null);
        List<ServeJvm> nodes = List.of(a, start(dir, "b", "[ { memory = 24GiB } ]", a.address()),
                start(dir, "c", "[]", a.address()));
        eventually(Duration.ofSeconds(120), () -> assertEquals(200, send(nodes.get(2), "m10", false, System.nanoTime()).status(),
                "cluster serves m10; logs in " + dir));
        return nodes;
    }

    /** Which of the GPU nodes (a: 0, b: 1) runs m10's runner. */
    private static int m10Host(List<ServeJvm> nodes) throws Exception {
        int host = hostOf(nodes, nodes.get(2), "m10");
        assertTrue(host == 0 || host == 1, "m10 needs a GPU: node a or b, not " + host);
        return host;
    }

    /** After each scenario: its JVMs don't load the machine during the next. */
    @AfterEach
    void stopJvms() throws Exception {
        for (ServeJvm n : jvms) {
            n.process.destroy(); // SIGTERM to all first: they leave the cluster and reap their runners together
        }
        for (ServeJvm n : jvms) {
            n.close();
        }
        jvms.clear();
    }

    /** One request's outcome: when it started and ended (ms since the load began), its status, and for a stream how it ended. */
    private record Outcome(String model, boolean stream, long startMs, long endMs, int status, String end) {
        boolean ok() {
            return status == 200 && (!stream || end.equals("done"));
        }
    }

    private static Outcome send(ServeJvm via, String model, boolean stream, long t0) {
        long start = System.nanoTime();
        String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
                + (stream ? ",\"stream\":true}" : "}");
        int status;
        String end = "";
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + via.httpPort
                            + "/v1/chat/completions")).timeout(Duration.ofSeconds(35)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            status = r.statusCode();
            if (stream) {
                List<String> data = r.body().lines().filter(l -> l.startsWith("data: ")).toList();
                String last = data.isEmpty() ? "" : data.get(data.size() - 1);
                end = last.equals("data: [DONE]") ? "done" : last.contains("\"error\"") ? "error-event" : "cut: " + last;
            }
        } catch (Exception e) {
            status = -1;
            end = e.toString();
        }
        return new Outcome(model, stream, (start - t0) / 1_000_000, (System.nanoTime() - t0) / 1_000_000, status, end);
    }

    /** The node that runs the model's (first) runner, as the gateway's /status says; -1 if none. */
    private static int hostOf(List<ServeJvm> nodes, ServeJvm gateway, String model) throws Exception {
        JsonNode status = JSON.readTree(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort
                + "/status")).build(), HttpResponse.BodyHandlers.ofString()).body());
        for (JsonNode r : status.get("runners")) {
            if (r.get("model").asText().equals(model) && !r.get("state").asText().equals("stopping")) {
                for (int i = 0; i < nodes.size(); i++) {
                    if (r.get("node").asText().endsWith(":" + nodes.get(i).clusterPort)) {
                        return i;
                    }
                }
            }
        }
        return -1;
    }

    /** The time of the first line in these logs after {@code after} that matches {@code pattern}, or null. */
    private static LocalTime firstAfter(List<Path> logs, LocalTime after, String pattern) throws IOException {
        Pattern p = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*" + pattern);
        LocalTime first = null;
        for (Path log : logs) {
            for (String line : Files.readAllLines(log)) {
                Matcher m = p.matcher(line);
                if (m.find()) {
                    LocalTime t = LocalTime.parse(m.group(1));
                    if (t.isAfter(after) && (first == null || t.isBefore(first))) {
                        first = t;
                    }
                }
            }
        }
        return first;
    }

    private static String since(LocalTime from, LocalTime to) {
        return to == null ? "not seen" : (Duration.between(from, to).toMillis() + " ms");
    }

    @Test
    void underSteadyLoadNothingIsLostWhenTheServingNodeIsKilled() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-chaos");
        List<ServeJvm> nodes = threeNodes(dir);
        ServeJvm gateway = nodes.get(2);
        for (int i = 0; i < 4; i++) {
            assertEquals(200, send(gateway, "pair", false, System.nanoTime()).status(), "pair is served");
        }
        int host = m10Host(nodes);
        int survivor = 1 - host;
        Process victim = nodes.get(host).process;
        List<ProcessHandle> victimRunners = victim.children().toList();

        List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        long endAt = t0 + LOAD.toNanos();
        ExecutorService clients = Executors.newFixedThreadPool(PLAIN_CLIENTS + STREAM_CLIENTS + PAIR_CLIENTS);
        List<Future<?>> running = new ArrayList<>();
        for (int i = 0; i < PLAIN_CLIENTS + STREAM_CLIENTS + PAIR_CLIENTS; i++) {
            boolean stream = i >= PLAIN_CLIENTS && i < PLAIN_CLIENTS + STREAM_CLIENTS;
            String model = i < PLAIN_CLIENTS + STREAM_CLIENTS ? "m10" : "pair";
            running.add(clients.submit(() -> {
                // bounded: by time, and by count in case answers come back unrealistically fast
                for (int n = 0; n < 20_000 && System.nanoTime() < endAt; n++) {
                    outcomes.add(send(gateway, model, stream, t0));
                }
            }));
        }
        Thread.sleep(LOAD.toMillis() / 2);
        LocalTime killedAt = LocalTime.now();
        long killedMs = (System.nanoTime() - t0) / 1_000_000;
        victim.destroyForcibly(); // SIGKILL
        victim.waitFor(10, TimeUnit.SECONDS);
        for (Future<?> f : running) {
            f.get(LOAD.toSeconds() + 60, TimeUnit.SECONDS);
        }
        clients.shutdown();

        List<Outcome> everything = List.copyOf(outcomes);
        List<Outcome> all = everything.stream().filter(o -> o.model().equals("m10")).toList();
        List<Outcome> pair = everything.stream().filter(o -> o.model().equals("pair")).toList();
        // the longest time 'pair' went without an answer, from just before the kill to the end of the load
        List<Long> pairAnswers = pair.stream().filter(Outcome::ok).map(Outcome::endMs).filter(t -> t >= killedMs - 1000)
                .sorted().toList();
        long pairGap = 0;
        for (int i = 1; i < pairAnswers.size(); i++) {
            pairGap = Math.max(pairGap, pairAnswers.get(i) - pairAnswers.get(i - 1));
        }
        long plain = all.stream().filter(o -> !o.stream()).count();
        long plainOk = all.stream().filter(o -> !o.stream() && o.status() == 200).count();
        long streams = all.size() - plain;
        long streamsDone = all.stream().filter(o -> o.stream() && o.status() == 200 && o.end().equals("done")).count();
        long streamsError = all.stream().filter(o -> o.stream() && o.status() == 200 && o.end().equals("error-event")).count();
        long slowest = all.stream().mapToLong(o -> o.endMs() - o.startMs()).max().orElse(0);
        long firstAnswerAfterKill = all.stream().filter(o -> o.ok() && o.endMs() > killedMs + 100)
                .mapToLong(Outcome::endMs).min().orElse(-1);
        JsonNode routing = JSON.readTree(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort
                + "/status")).build(), HttpResponse.BodyHandlers.ofString()).body()).get("routing");
        long retried = 0;
        for (JsonNode lane : routing) {
            retried += lane.get("retried").asLong();
        }
        // what the surviving nodes logged: the gateway, and the survivor (the leader and the shard coordinator are one of them)
        List<Path> logs = List.of(dir.resolve("c.log"), dir.resolve((survivor == 0 ? "a" : "b") + ".log"));
        System.out.printf("chaos: %d requests in %d s (%d non-streaming, %d streaming); SIGKILL of node %s at %d ms%n",
                all.size(), LOAD.toSeconds(), plain, streams, host == 0 ? "a" : "b", killedMs);
        System.out.printf("chaos: non-streaming %d/%d answered 200; streams %d ended with their last token, %d with an error "
                + "event; %d failed; %d sent again by the gateway; slowest %d ms%n", plainOk, plain, streamsDone, streamsError,
                all.size() - plainOk - streamsDone - streamsError, retried, slowest);
        System.out.printf("chaos: 'pair' (2 replicas): %d/%d answered 200; longest time without an answer around the kill %d ms%n",
                pair.stream().filter(Outcome::ok).count(), pair.size(), pairGap);
        pair.stream().filter(o -> o.endMs() - o.startMs() > 500).forEach(o -> System.out.println("chaos: slow 'pair' request " + o));
        System.out.printf("chaos: the model served again %d ms after the kill; from the logs: unreachable after %s, "
                        + "downed after %s, removed after %s, placed again after %s, runner ready after %s%n",
                firstAnswerAfterKill - killedMs,
                since(killedAt, firstAfter(logs, killedAt, "Marking node as UNREACHABLE")),
                since(killedAt, firstAfter(logs, killedAt, "SBR took decision")),
                since(killedAt, firstAfter(logs, killedAt, "is irrecoverably failed")),
                since(killedAt, firstAfter(logs, killedAt, "model 'm10' placed on")),
                since(killedAt, firstAfter(logs, killedAt, "runner .* ready in")));

        all.stream().filter(o -> !o.stream()).forEach(o -> assertEquals(200, o.status(), "a non-streaming request failed: " + o));
        all.stream().filter(Outcome::stream).forEach(o -> assertTrue(o.status() == 200
                && (o.end().equals("done") || o.end().equals("error-event")), "a stream did not end cleanly: " + o));
        assertTrue(slowest < 30_000, "a request took " + slowest + " ms");
        assertTrue(firstAnswerAfterKill > 0, "the model never served again; logs in " + dir);
        pair.forEach(o -> assertEquals(200, o.status(), "a request of 'pair' failed: " + o));
        assertTrue(pairGap < 1000, "'pair' kept a replica and should answer without a gap; it went " + pairGap + " ms without");
        assertEquals(survivor, hostOf(nodes, gateway, "m10"), "m10 runs on the surviving GPU node");
        // the killed node's sim watched its parent and exited with it: no orphans
        eventually(Duration.ofSeconds(10), "the dead node's runners exited with it",
                () -> victimRunners.stream().noneMatch(ProcessHandle::isAlive));
    }


    /**
     * The serving agent's JVM stops (SIGSTOP: a long GC pause, a frozen VM) for 15 s under load, then
     * resumes. Nothing may be lost, the model must serve again from the other agent within 10 s, and
     * the resumed node, downed meanwhile, stops its runners and its JVM exits; m10 ends with one runner.
     */
    @Test
    void underLoadNothingIsLostWhenTheServingNodePausesAndTheResumedNodeLeaves() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-pause");
        List<ServeJvm> nodes = threeNodes(dir);
        ServeJvm gateway = nodes.get(2);
        int host = m10Host(nodes);
        Process paused = nodes.get(host).process;
        List<ProcessHandle> pausedRunners = paused.children().toList();

        List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        Duration load = Duration.ofSeconds(25);
        long t0 = System.nanoTime();
        long endAt = t0 + load.toNanos();
        ExecutorService clients = Executors.newFixedThreadPool(PLAIN_CLIENTS + STREAM_CLIENTS);
        List<Future<?>> running = new ArrayList<>();
        for (int i = 0; i < PLAIN_CLIENTS + STREAM_CLIENTS; i++) {
            boolean stream = i >= PLAIN_CLIENTS;
            running.add(clients.submit(() -> {
                for (int n = 0; n < 20_000 && System.nanoTime() < endAt; n++) {
                    outcomes.add(send(gateway, "m10", stream, t0));
                }
            }));
        }
        Thread.sleep(4000);
        long stoppedMs = (System.nanoTime() - t0) / 1_000_000;
        ServeJvm.signal("STOP", paused.pid());
        Thread.sleep(15_000);
        ServeJvm.signal("CONT", paused.pid());
        long resumedAt = System.nanoTime();
        for (Future<?> f : running) {
            f.get(load.toSeconds() + 60, TimeUnit.SECONDS);
        }
        clients.shutdown();
        boolean exited = paused.waitFor(60, TimeUnit.SECONDS);
        long exitMs = (System.nanoTime() - resumedAt) / 1_000_000;

        List<Outcome> all = List.copyOf(outcomes);
        long firstAnswerAfterStop = all.stream().filter(o -> o.ok() && o.startMs() > stoppedMs + 100)
                .mapToLong(Outcome::endMs).min().orElse(-1);
        long plain = all.stream().filter(o -> !o.stream()).count();
        long plainOk = all.stream().filter(o -> !o.stream() && o.status() == 200).count();
        long slowest = all.stream().mapToLong(o -> o.endMs() - o.startMs()).max().orElse(0);
        System.out.printf("pause: %d requests (%d non-streaming, %d answered 200; %d streams); SIGSTOP of node %s at %d ms "
                        + "for 15 s; the model served again %d ms after the stop; slowest request %d ms; the resumed node's JVM "
                        + "%s %d ms after SIGCONT%n", all.size(), plain, plainOk, all.size() - plain, host == 0 ? "a" : "b",
                stoppedMs, firstAnswerAfterStop - stoppedMs, slowest, exited ? "exited" : "was still running", exitMs);

        all.stream().filter(o -> !o.stream()).forEach(o -> assertEquals(200, o.status(), "a non-streaming request failed: " + o));
        all.stream().filter(Outcome::stream).forEach(o -> assertTrue(o.status() == 200
                && (o.end().equals("done") || o.end().equals("error-event")), "a stream did not end cleanly: " + o));
        assertTrue(firstAnswerAfterStop > 0, "the model never served again; logs in " + dir);
        assertTrue(exited, "the resumed node, downed while it was stopped, exits; logs in " + dir);
        eventually(Duration.ofSeconds(10), "the resumed node's runners stopped with it",
                () -> pausedRunners.stream().noneMatch(ProcessHandle::isAlive));
        JsonNode status = JSON.readTree(client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.httpPort
                + "/status")).build(), HttpResponse.BodyHandlers.ofString()).body());
        long m10Runners = 0;
        for (JsonNode r : status.get("runners")) {
            m10Runners += r.get("model").asText().equals("m10") ? 1 : 0;
        }
        assertEquals(1, m10Runners, "one runner of m10's one replica: " + status.get("runners"));
        assertEquals(1 - host, hostOf(nodes, gateway, "m10"), "m10 runs on the other GPU node");
    }
}
