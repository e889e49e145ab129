package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.junit.jupiter.api.Test;

/**
 * What the cluster decides at run time lives in each node's state directory and survives restarts:
 * keys made through POST /keys (and with them, keys staying on), _configure settings, elastic replica
 * counts; a node restarted alone and a whole cluster restarted keep them. Keys fail closed: with the
 * state unreadable the gateway refuses (503) rather than serving without keys. A node also reaps the
 * runner processes a dead run of it left, before it starts.
 */
class StateAcrossRestartsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private static String stateOf(Path dir) {
        return "llmrt.state.dir = \"" + dir + "\"";
    }

    private static HttpResponse<String> send(int port, String method, String path, String body, String key) throws Exception {
        return TestHttp.send(TestHttp.local(port), method, path, body, "Authorization", key == null ? null : "Bearer " + key);
    }

    /** POST /keys; the new key. */
    private static String makeKey(int port, String as, String body) throws Exception {
        HttpResponse<String> r = send(port, "POST", "/keys", body, as);
        assertEquals(201, r.statusCode(), r.body());
        return JSON.readTree(r.body()).path("key").asText();
    }

    private static final LWWMapKey<String, Integer> COUNTS = (LWWMapKey<String, Integer>) dev.llmrt.gateway.routing.ReplicaRouter.COUNTS_KEY;

    /** Writes an elastic model's replica count as a gateway does (to a majority). */
    private static void putCount(LlmrtNode node, String model, int count) throws Exception {
        SelfUniqueAddress self = DistributedData.get(node.system()).selfUniqueAddress();
        Replicator.UpdateResponse<LWWMap<String, Integer>> r = AskPattern.<Replicator.Command,
                Replicator.UpdateResponse<LWWMap<String, Integer>>>ask(DistributedData.get(node.system()).replicator(),
                reply -> new Replicator.Update<>(COUNTS, LWWMap.empty(), new Replicator.WriteMajority(Duration.ofSeconds(5)), reply,
                        m -> m.put(self, model, count)), Duration.ofSeconds(10), node.system().scheduler())
                .toCompletableFuture().get(15, TimeUnit.SECONDS);
        assertTrue(r instanceof Replicator.UpdateSuccess, "written to a majority: " + r);
    }

    /** An elastic model's replica count as this node's replica holds it, or null. */
    private static Integer count(LlmrtNode node, String model) throws Exception {
        Replicator.GetResponse<LWWMap<String, Integer>> r = AskPattern.<Replicator.Command,
                Replicator.GetResponse<LWWMap<String, Integer>>>ask(DistributedData.get(node.system()).replicator(),
                reply -> new Replicator.Get<>(COUNTS, Replicator.readLocal(), reply), Duration.ofSeconds(10),
                node.system().scheduler()).toCompletableFuture().get(15, TimeUnit.SECONDS);
        return r instanceof Replicator.GetSuccess<LWWMap<String, Integer>> got ? got.get(COUNTS).getEntries().get(model) : null;
    }

    private static JsonNode configured(int port, String key) throws Exception {
        HttpResponse<String> r = send(port, "GET", "/engines/_configure", null, key);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void aNodeRestartedKeepsItsKeysConfigurationsAndCountsAndReapsWhatItsLastRunLeft() throws Exception {
        Path state = Files.createTempDirectory("llmrt-state-test");
        String admin;
        String user;
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start(stateOf(state)).port();
            // no key yet: keys are off; the first key (made from loopback, as the CLI does) turns them on
            assertEquals(200, send(port, "POST", "/v1/chat/completions", CHAT, null).statusCode());
            HttpResponse<String> notAdmin = send(port, "POST", "/keys", "{\"name\":\"app\"}", null);
            assertEquals(400, notAdmin.statusCode(), "the first key must be an admin's: " + notAdmin.body());
            admin = makeKey(port, null, "{\"name\":\"ops\",\"admin\":true}");
            user = makeKey(port, admin, "{\"name\":\"app\",\"models\":[\"sim/fast\"],\"rpm\":1000}");
            assertEquals(401, send(port, "POST", "/v1/chat/completions", CHAT, null).statusCode());
            assertEquals(202, send(port, "POST", "/engines/sim/_configure",
                    "{\"model\":\"sim/tiny\",\"context-size\":4096,\"keep_alive\":\"7m\"}", admin).statusCode());
            putCount(cluster.nodes.get(0), "sim/tiny", 3);
        }
        // a runner this node started, still running when its JVM died (here: a process we start and record)
        Process leftover = new ProcessBuilder("sleep", "300").start();
        Files.createDirectories(state.resolve("runners"));
        Files.writeString(state.resolve("runners").resolve(Long.toString(leftover.pid())),
                leftover.toHandle().info().startInstant().orElseThrow().toEpochMilli() + "\nsim sim/fast runner-1\n");
        // and one whose pid a process of another start time holds now: not ours, left alone
        Process stranger = new ProcessBuilder("sleep", "300").start();
        Files.writeString(state.resolve("runners").resolve(Long.toString(stranger.pid())), "1000\nsim sim/fast runner-2\n");
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start(stateOf(state)).port();
            assertFalse(leftover.isAlive(), "the node's start killed the runner its last run left");
            assertTrue(stranger.isAlive(), "a process that only shares a recorded pid is not the node's");
            assertFalse(Files.exists(state.resolve("runners").resolve(Long.toString(stranger.pid()))), "records are cleared");
            stranger.destroyForcibly();

            HttpResponse<String> none = send(port, "POST", "/v1/chat/completions", CHAT, null);
            assertEquals(401, none.statusCode(), "keys are still on after the restart: " + none.body());
            assertEquals(200, send(port, "POST", "/v1/chat/completions", CHAT, user).statusCode());
            JsonNode keys = JSON.readTree(send(port, "GET", "/keys", null, admin).body());
            assertEquals(2, keys.size(), keys.toString());
            assertEquals(1000, keys.get(0).path("rpm").asInt(), keys.toString());
            JsonNode conf = configured(port, admin);
            assertEquals(1, conf.size(), conf.toString());
            assertEquals(4096, conf.get(0).path("Config").path("context-size").asInt(), conf.toString());
            assertEquals(3, count(cluster.nodes.get(0), "sim/tiny"));

            // revoking every key doesn't turn keys off: they stay required, and a new first key comes from the node
            assertEquals(200, send(port, "DELETE", "/keys/app", null, admin).statusCode());
            assertEquals(200, send(port, "DELETE", "/keys/ops", null, admin).statusCode());
            HttpResponse<String> after = send(port, "POST", "/v1/chat/completions", CHAT, null);
            assertEquals(401, after.statusCode(), "no key left, keys still on: " + after.body());
            makeKey(port, null, "{\"name\":\"ops2\",\"admin\":true}");
        }
    }

    @Test
    void aWholeClusterRestartedKeepsItsKeysAndUnreadableStateFailsClosed() throws Exception {
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            dirs.add(Files.createTempDirectory("llmrt-state-" + i));
        }
        String admin;
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int a = cluster.start(stateOf(dirs.get(0))).port();
            cluster.start(stateOf(dirs.get(1)));
            cluster.start(stateOf(dirs.get(2)));
            eventually(Duration.ofSeconds(60), () -> assertEquals(3, cluster.membersUp()));
            admin = makeKey(a, null, "{\"name\":\"ops\",\"admin\":true}");
            // the write went to a majority; let the third node have it too
            for (LlmrtNode.Started s : cluster.started) {
                eventually(Duration.ofSeconds(30), () -> assertEquals(200,
                        send(s.port(), "GET", "/keys", null, admin).statusCode()));
            }
        }
        try (InJvmCluster cluster = new InJvmCluster("")) {
            // every node at once, on new ports: each reads its own directory
            List<Integer> ports = new ArrayList<>();
            for (Path d : dirs) {
                ports.add(cluster.start(stateOf(d)).port());
            }
            for (int port : ports) {
                assertEquals(401, send(port, "GET", "/v1/models", null, null).statusCode());
                HttpResponse<String> keys = send(port, "GET", "/keys", null, admin);
                assertEquals(200, keys.statusCode(), keys.body());
                assertTrue(keys.body().contains("\"ops\""), keys.body());
            }
        }
        // the state can't be read (a damaged disk): the node refuses rather than opening
        Path data = dirs.get(0).resolve("distributed-data").resolve("llmrt-api-keys.entry");
        assertTrue(Files.exists(data), "Distributed Data keeps its entries in " + data);
        Files.write(data, new byte[64 * 1024]);
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start(stateOf(dirs.get(0))).port();
            HttpResponse<String> r = send(port, "POST", "/v1/chat/completions", CHAT, null);
            assertEquals(503, r.statusCode(), r.body());
            assertEquals("keys_unavailable", JSON.readTree(r.body()).path("error").path("code").asText(), r.body());
            HttpResponse<String> withKey = send(port, "GET", "/v1/models", null, admin);
            assertEquals(503, withKey.statusCode(), "a key only the unreadable state knows can't be checked: " + withKey.body());
        }
    }

    @Test
    void twoNodesCannotShareAStateDirectory() throws Exception {
        Path state = Files.createTempDirectory("llmrt-state-shared");
        try (InJvmCluster cluster = new InJvmCluster("")) {
            cluster.start(stateOf(state));
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> cluster.start(stateOf(state)));
            assertTrue(String.valueOf(e.getMessage()).contains("in use"), String.valueOf(e));
        }
    }
}
