package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Keys made and revoked at run time hold on every gateway without a restart, and a key's limits
 * (requests and tokens per minute, requests and streams at once) hold across two gateways of one
 * cluster: each key's buckets live in one sharded entity, not one per gateway.
 */
class KeyLimitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CATALOG = """
            llmrt.models = [
              { name = "quick", backend = sim, keep-alive = "-1",
                runtime-flags = ["--max-seqs=8", "--ttft-ms=5", "--tpot-ms=1", "--max-tokens=10"] }
              { name = "slow", backend = sim, keep-alive = "-1",
                runtime-flags = ["--max-seqs=8", "--ttft-ms=2500", "--tpot-ms=1", "--max-tokens=2"] }
            ]
            """;

    private static HttpResponse<String> send(String base, String method, String path, String body, String key) throws Exception {
        return TestHttp.send(base, method, path, body, "Authorization", key == null ? null : "Bearer " + key);
    }

    private static HttpResponse<String> chat(String base, String key, String model, boolean stream) throws Exception {
        return send(base, "POST", "/v1/chat/completions", "{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", key);
    }

    private static CompletableFuture<HttpResponse<String>> chatLater(String base, String key, String model, boolean stream) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return chat(base, key, model, stream);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static String create(String base, String admin, String body) throws Exception {
        HttpResponse<String> r = send(base, "POST", "/keys", body, admin);
        assertEquals(201, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("key").asText();
    }

    private static String code(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body()).at("/error/code").asText();
    }

    @Test
    void keysMadeAtRunTimeAndTheirLimitsHoldOnEveryGateway() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster(CATALOG)) {
            String a = "http://127.0.0.1:" + cluster.start("").port();
            String b = "http://127.0.0.1:" + cluster.start("").port();
            eventually(Duration.ofSeconds(30), () -> assertEquals(200, chat(b, null, "quick", false).statusCode()));
            assertEquals(200, chat(a, null, "slow", false).statusCode()); // warm: its runner is up

            // keys off until the first, which must be an admin's
            HttpResponse<String> notAdmin = send(a, "POST", "/keys", "{\"name\":\"app\"}", null);
            assertEquals(400, notAdmin.statusCode(), notAdmin.body());
            String root = create(a, null, "{\"name\":\"root\",\"admin\":true}");
            eventually(Duration.ofSeconds(10), () -> assertEquals(401, chat(b, null, "quick", false).statusCode()));
            assertEquals(200, chat(b, root, "quick", false).statusCode(), "a key made through A works on B");

            String app = create(a, root, "{\"name\":\"app\",\"rpm\":6}");
            String tok = create(b, root, "{\"name\":\"tok\",\"tpm\":10}");
            String one = create(a, root, "{\"name\":\"one\",\"max_concurrent\":1}");
            String streams = create(b, root, "{\"name\":\"streams\",\"max_streams\":1}");
            eventually(Duration.ofSeconds(10), () -> assertEquals(200, chat(b, app, "quick", false).statusCode()));

            // listed without secrets, for admins only
            HttpResponse<String> list = send(b, "GET", "/keys", null, root);
            assertEquals(200, list.statusCode(), list.body());
            assertTrue(list.body().contains("\"name\":\"app\"") && list.body().contains("\"rpm\":6"), list.body());
            assertFalse(list.body().contains(app) || list.body().contains("sha256"), "no key or hash is listed");
            assertEquals(403, send(b, "GET", "/keys", null, app).statusCode());

            // rpm 6 across both gateways: 5 more of 11 pass (one was used above), the rest get 429 with Retry-After
            int ok = 0;
            List<HttpResponse<String>> refused = new ArrayList<>();
            for (int i = 0; i < 11; i++) {
                HttpResponse<String> r = chat(i % 2 == 0 ? a : b, app, "quick", false);
                if (r.statusCode() == 200) {
                    ok++;
                } else {
                    refused.add(r);
                }
            }
            assertEquals(5, ok, "six requests a minute, counted once for the cluster");
            assertEquals(429, refused.get(0).statusCode(), refused.get(0).body());
            assertEquals("rate_limit_exceeded", code(refused.get(0)));
            assertTrue(Integer.parseInt(refused.get(0).headers().firstValue("retry-after").orElse("0")) >= 1);

            // tpm 10: the first answer's tokens (prompt and 10 completion tokens) empty the bucket
            HttpResponse<String> first = chat(a, tok, "quick", false);
            assertEquals(200, first.statusCode(), first.body());
            assertTrue(JSON.readTree(first.body()).at("/usage/total_tokens").asInt() >= 10, first.body());
            eventually(Duration.ofSeconds(5), () -> assertEquals("token_limit_exceeded", code(chat(b, tok, "quick", false))));

            // one request at a time, wherever it comes in
            CompletableFuture<HttpResponse<String>> running = chatLater(a, one, "slow", false);
            Thread.sleep(500);
            HttpResponse<String> second = chat(b, one, "quick", false);
            assertEquals(429, second.statusCode(), second.body());
            assertEquals("concurrency_limit_exceeded", code(second));
            assertEquals(200, running.get().statusCode());
            eventually(Duration.ofSeconds(5), () -> assertEquals(200, chat(b, one, "quick", false).statusCode()));

            // one stream at a time; other requests still pass
            CompletableFuture<HttpResponse<String>> stream = chatLater(b, streams, "slow", true);
            Thread.sleep(500);
            HttpResponse<String> secondStream = chat(a, streams, "quick", true);
            assertEquals(429, secondStream.statusCode(), secondStream.body());
            assertEquals("stream_limit_exceeded", code(secondStream));
            assertEquals(200, chat(a, streams, "quick", false).statusCode());
            assertEquals(200, stream.get().statusCode());

            // none of the keys made shows up in either node's log
            for (String node : List.of(a, b)) {
                String logs = send(node, "GET", "/logs", null, root).body();
                assertTrue(logs.contains("INFO"), logs);
                for (String key : List.of(root, app, tok, one, streams)) {
                    assertFalse(logs.contains(key), "no key in the logs");
                }
            }

            // revoked through B: refused on A too
            assertEquals(200, send(b, "DELETE", "/keys/app", null, root).statusCode());
            eventually(Duration.ofSeconds(10), () -> assertEquals(401, chat(a, app, "quick", false).statusCode()));
            assertEquals(404, send(a, "DELETE", "/keys/app", null, root).statusCode());
        }
    }
}
