package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * API keys on: keys made by {@code llmrt keys create}, configured by their SHA-256; 401 without a
 * valid key (OpenAI's shape, Anthropic's on its routes), 403 for a model the key may not use and for
 * cluster-changing routes without an admin key; probes and metrics stay open; keys never in the logs.
 */
class ApiKeysTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern KEY = Pattern.compile("key: (\\S+)");
    private static final Pattern ENTRY = Pattern.compile("(\\{ name = .*})");

    /** Runs {@code llmrt keys create} and returns (key, entry). */
    private static String[] create(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream was = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            String[] all = new String[args.length + 3];
            all[0] = "keys";
            all[1] = "create";
            // the offline form: an entry for llmrt.gateway.api-keys
            all[2] = "--print-config";
            System.arraycopy(args, 0, all, 3, args.length);
            assertEquals(0, new CommandLine(new Main()).execute(all));
        } finally {
            System.setOut(was);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        Matcher k = KEY.matcher(text);
        Matcher e = ENTRY.matcher(text);
        assertTrue(k.find() && e.find(), text);
        assertFalse(e.group(1).contains(k.group(1)), "the entry holds the hash, not the key");
        return new String[] {k.group(1), e.group(1)};
    }

    private static HttpResponse<String> send(int port, String method, String path, String body, String header, String value)
            throws Exception {
        return header == null ? TestHttp.send(TestHttp.local(port), method, path, body)
                : TestHttp.send(TestHttp.local(port), method, path, body, header, value);
    }

    @Test
    void keysGuardEveryRouteButTheProbesAndNeverShowUpInLogs() throws Exception {
        String[] user = create("--name", "app", "--models", "sim/fast");
        String[] admin = create("--name", "ops", "--admin");
        String chat = "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        try (InJvmCluster cluster = new InJvmCluster("llmrt.gateway.api-keys = [" + user[1] + ", " + admin[1] + "]")) {
            int port = cluster.start("").port();

            HttpResponse<String> none = send(port, "POST", "/v1/chat/completions", chat, null, null);
            assertEquals(401, none.statusCode());
            assertEquals("missing_api_key", JSON.readTree(none.body()).path("error").path("code").asText(), none.body());
            assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
            assertEquals(401, send(port, "POST", "/v1/chat/completions", chat, "Authorization", "Bearer llmrt-wrong").statusCode());
            assertEquals(200, send(port, "POST", "/v1/chat/completions", chat, "Authorization", "Bearer " + user[0]).statusCode());

            HttpResponse<String> otherModel = send(port, "POST", "/v1/chat/completions", chat.replace("sim/fast", "sim/tiny"),
                    "Authorization", "Bearer " + user[0]);
            assertEquals(403, otherModel.statusCode());
            assertEquals("model_not_allowed", JSON.readTree(otherModel.body()).path("error").path("code").asText());
            assertEquals(403, send(port, "POST", "/api/chat", "{\"model\":\"sim/tiny\",\"messages\":[]}", "Authorization",
                    "Bearer " + user[0]).statusCode(), "Ollama's translation is checked too");

            // Anthropic's clients send x-api-key and read Anthropic's error shape
            String message = "{\"model\":\"sim/fast\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
            assertEquals(200, send(port, "POST", "/v1/messages", message, "x-api-key", user[0]).statusCode());
            HttpResponse<String> anthropic = send(port, "POST", "/anthropic/v1/messages", message, null, null);
            assertEquals(401, anthropic.statusCode());
            JsonNode a = JSON.readTree(anthropic.body());
            assertEquals("error", a.path("type").asText(), anthropic.body());
            assertEquals("authentication_error", a.path("error").path("type").asText());

            // changing the cluster needs an admin key
            assertEquals(403, send(port, "POST", "/engines/unload", "{\"all\":true}", "Authorization", "Bearer " + user[0]).statusCode());
            assertEquals(200, send(port, "POST", "/engines/unload", "{\"all\":true}", "Authorization", "Bearer " + admin[0]).statusCode());
            assertEquals(403, send(port, "POST", "/engines/_configure", "{\"model\":\"sim/fast\"}", "x-api-key", user[0]).statusCode());
            assertEquals(200, send(port, "GET", "/engines/ps", null, "Authorization", "Bearer " + user[0]).statusCode());
            assertEquals(401, send(port, "GET", "/status", null, null, null).statusCode());

            // probes and metrics stay open for load balancers and Prometheus
            assertEquals(200, send(port, "GET", "/health", null, null, null).statusCode());
            assertEquals(200, send(port, "GET", "/ready", null, null, null).statusCode());
            assertEquals(200, send(port, "GET", "/metrics", null, null, null).statusCode());

            String logs = send(port, "GET", "/logs", null, "Authorization", "Bearer " + admin[0]).body();
            assertTrue(logs.contains("INFO"), logs);
            assertFalse(logs.contains(user[0]) || logs.contains(admin[0]), "no key in the logs");
        }
    }
}
