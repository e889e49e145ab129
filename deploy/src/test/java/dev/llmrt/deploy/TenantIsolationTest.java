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
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Keys isolate tenants: an ordinary key can't read the ops routes that show other keys' requests or
 * the cluster's inner state, sees only its models' runners, can't reconfigure or unload a model for
 * everyone through Ollama's keep_alive and num_ctx, and can't see or delete another key's stored
 * responses. Key changes a majority didn't confirm answer 503 (separate JVMs, two of three stopped).
 */
class TenantIsolationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ADMIN = "llmrt-admin-of-the-tenant-test";

    private static HttpResponse<String> send(String base, String method, String path, String body, String key) throws Exception {
        return TestHttp.send(base, method, path, body, "Authorization", key == null ? null : "Bearer " + key);
    }

    private static String makeKey(String base, String body) throws Exception {
        HttpResponse<String> r = send(base, "POST", "/keys", body, ADMIN);
        assertEquals(201, r.statusCode(), r.body());
        return JSON.readTree(r.body()).path("key").asText();
    }

    @Test
    void anOrdinaryKeySeesAndChangesOnlyWhatIsItsOwn() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("llmrt.gateway.admin-key = \"" + ADMIN + "\"")) {
            String base = TestHttp.local(cluster.start("").port());
            String a = makeKey(base, "{\"name\":\"tenant-a\",\"models\":[\"sim/fast\"]}");
            String b = makeKey(base, "{\"name\":\"tenant-b\",\"models\":[\"sim/fast\"]}");
            String chat = "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"a secret of tenant a\"}]}";
            assertEquals(200, send(base, "POST", "/v1/chat/completions", chat, a).statusCode());
            assertEquals(200, send(base, "POST", "/v1/chat/completions",
                    "{\"model\":\"sim/tiny\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", ADMIN).statusCode());

            // ops routes that show others' prompts or the cluster's state: an admin's
            for (String path : List.of("/engines/requests", "/exp/vDD4.40/engines/requests", "/logs", "/status", "/status/events",
                    "/dashboard")) {
                HttpResponse<String> r = send(base, "GET", path, null, a);
                assertEquals(403, r.statusCode(), path + ": " + r.body());
                assertFalse(r.body().contains("a secret of tenant a"), path);
            }
            for (String path : List.of("/engines/requests", "/logs", "/status", "/dashboard")) {
                assertEquals(200, send(base, "GET", path, null, ADMIN).statusCode(), path);
            }
            assertTrue(send(base, "GET", "/engines/requests", null, ADMIN).body().contains("a secret of tenant a"));
            // a key sees its own models' runners only
            eventually(Duration.ofSeconds(30), () -> {
                assertTrue(send(base, "GET", "/engines/ps", null, ADMIN).body().contains("sim/tiny"));
                String ps = send(base, "GET", "/engines/ps", null, a).body();
                assertTrue(ps.contains("sim/fast") && !ps.contains("sim/tiny"), ps);
                String ollamaPs = send(base, "GET", "/api/ps", null, a).body();
                assertTrue(ollamaPs.contains("sim/fast") && !ollamaPs.contains("sim/tiny"), ollamaPs);
            });

            // Ollama's keep_alive and num_ctx change a model for everyone: not an ordinary key's
            String[] changing = {
                    "{\"model\":\"sim/fast\",\"keep_alive\":-1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                    "{\"model\":\"sim/fast\",\"options\":{\"num_ctx\":100000000},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                    "{\"model\":\"sim/tiny\",\"keep_alive\":-1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"};
            for (String body : changing) {
                HttpResponse<String> r = send(base, "POST", "/api/chat", body, a);
                assertEquals(403, r.statusCode(), body + ": " + r.body());
                assertTrue(JSON.readTree(r.body()).has("error"), "Ollama's error shape: " + r.body());
            }
            assertEquals(403, send(base, "POST", "/api/generate", "{\"model\":\"sim/fast\",\"prompt\":\"\"}", a).statusCode(),
                    "an empty prompt unloads the model everywhere");
            assertEquals(403, send(base, "POST", "/api/generate", "{\"model\":\"sim/fast\",\"prompt\":\"hi\",\"keep_alive\":\"0\"}", a)
                    .statusCode());
            assertEquals("[]", send(base, "GET", "/engines/_configure", null, ADMIN).body(), "nothing was reconfigured");
            assertEquals(200, send(base, "POST", "/api/chat", "{\"model\":\"sim/fast\",\"stream\":false,\"messages\":[{\"role\":\"user\","
                    + "\"content\":\"hi\"}]}", a).statusCode());
            // every route that changes the cluster, whatever API: an admin's
            for (String[] call : new String[][] {{"POST", "/engines/unload", "{\"all\":true}"},
                    {"POST", "/engines/sim/_configure", "{\"model\":\"sim/fast\",\"context-size\":2048}"},
                    {"POST", "/models/create", "{\"from\":\"localhost:5000/x/y:1\"}"}, {"DELETE", "/models/x", null},
                    {"POST", "/api/pull", "{\"model\":\"x\"}"}, {"DELETE", "/api/delete", "{\"model\":\"x\"}"},
                    {"POST", "/keys", "{\"name\":\"more\"}"}, {"DELETE", "/keys/tenant-b", null}}) {
                assertEquals(403, send(base, call[0], call[1], call[2], a).statusCode(), call[0] + " " + call[1]);
            }

            // a stored response is its key's alone
            HttpResponse<String> made = send(base, "POST", "/v1/responses", "{\"model\":\"sim/fast\",\"input\":\"hi\"}", a);
            assertEquals(200, made.statusCode(), made.body());
            String id = JSON.readTree(made.body()).path("id").asText();
            assertEquals(200, send(base, "GET", "/v1/responses/" + id, null, a).statusCode());
            assertEquals(404, send(base, "GET", "/v1/responses/" + id, null, b).statusCode());
            assertEquals(404, send(base, "GET", "/v1/responses/" + id + "/input_items", null, b).statusCode());
            assertEquals(404, send(base, "DELETE", "/v1/responses/" + id, null, b).statusCode());
            assertEquals(400, send(base, "POST", "/v1/responses", "{\"model\":\"sim/fast\",\"input\":\"go on\","
                    + "\"previous_response_id\":\"" + id + "\"}", b).statusCode(), "another key's conversation can't be continued");
            assertEquals(200, send(base, "GET", "/v1/responses/" + id, null, a).statusCode(), "B's DELETE removed nothing");
            assertEquals(200, send(base, "DELETE", "/v1/responses/" + id, null, a).statusCode());
        }
    }


    @Test
    void keyChangesAMajorityDidNotConfirmAnswer503AndARevokedKeyKeepsFailing() throws Exception {
        Path dir = Files.createTempDirectory("llmrt-keys-majority");
        // nobody is downed while two nodes are stopped: the first node's writes just can't reach a majority
        String config = """
                pekko.cluster.split-brain-resolver.stable-after = 120s
                llmrt.gateway.limits.write-timeout = 2s
                llmrt.gateway.admin-key = "%s"
                """.formatted(ADMIN);
        try (ServeJvm first = ServeJvm.start(dir, "a", config, null)) {
            eventually(Duration.ofSeconds(120), () -> assertEquals(200, send(first.base(), "GET", "/keys", null, ADMIN).statusCode(),
                    "log in " + first.log));
            try (ServeJvm second = ServeJvm.start(dir, "b", config, first.address());
                 ServeJvm third = ServeJvm.start(dir, "c", config, first.address())) {
                eventually(Duration.ofSeconds(120), () -> {
                    JsonNode status = JSON.readTree(send(first.base(), "GET", "/status", null, ADMIN).body());
                    assertEquals(3, status.path("nodes").size(), "three nodes: " + status.path("nodes"));
                });
                String app = makeKey(first.base(), "{\"name\":\"app\"}");
                eventually(Duration.ofSeconds(30), () -> assertEquals(200, send(second.base(), "GET", "/v1/models", null, app).statusCode()));

                ServeJvm.signal("STOP", second.process.pid());
                ServeJvm.signal("STOP", third.process.pid());
                try {
                    HttpResponse<String> revoked = send(first.base(), "DELETE", "/keys/app", null, ADMIN);
                    assertEquals(503, revoked.statusCode(), revoked.body());
                    assertEquals("not_confirmed", JSON.readTree(revoked.body()).path("error").path("code").asText(), revoked.body());
                    assertEquals(401, send(first.base(), "GET", "/v1/models", null, app).statusCode(), "revoked here at once");
                    HttpResponse<String> made = send(first.base(), "POST", "/keys", "{\"name\":\"late\"}", ADMIN);
                    assertEquals(503, made.statusCode(), made.body());
                    assertFalse(made.body().contains("llmrt-"), "no key shown for a key that may not hold: " + made.body());
                } finally {
                    ServeJvm.signal("CONT", second.process.pid());
                    ServeJvm.signal("CONT", third.process.pid());
                }
                // the revoke spreads once the others answer again: the key keeps failing, everywhere
                for (ServeJvm n : List.of(first, second, third)) {
                    eventually(Duration.ofSeconds(60), () -> assertEquals(401, send(n.base(), "GET", "/v1/models", null, app).statusCode()));
                }
                assertEquals(401, send(first.base(), "GET", "/v1/models", null, app).statusCode());
            }
        }
    }
}
