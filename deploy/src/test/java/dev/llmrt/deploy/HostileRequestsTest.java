package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A corpus of malformed and hostile requests (types, ranges, encodings, nesting, sizes, paths,
 * methods) against a running node: each gets a 4xx in OpenAI's error shape, never a 5xx or a hang,
 * a wrong value is named in the error's {@code param}, and a normal request succeeds after them all.
 */
class HostileRequestsTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    /** One request of the corpus: method, path, body bytes, and the field it should name (or null). */
    private record Case(String method, String path, byte[] body, String param) {
        static Case chat(String fields, String param) {
            return new Case("POST", "/v1/chat/completions",
                    ("{\"model\":\"sim/fast\"," + fields + "}").getBytes(StandardCharsets.UTF_8), param);
        }
    }

    private static List<Case> corpus() {
        List<Case> cases = new ArrayList<>();
        String[] wrongTypes = {"\"x\"", "true", "[]", "{}", "[1,2]", "\"1\"", "\"\"", "[null]", "{\"a\":1}", "false"};
        String[][] numeric = {{"max_tokens", "1"}, {"max_completion_tokens", "1"}, {"n", "1"}, {"temperature", "0.5"},
                {"top_p", "0.5"}, {"presence_penalty", "0"}, {"frequency_penalty", "0"}, {"top_logprobs", "1"}, {"seed", "1"}};
        for (String[] f : numeric) {
            for (String w : wrongTypes) {
                cases.add(Case.chat(MESSAGES + ",\"" + f[0] + "\":" + w, f[0]));
            }
        }
        String[][] ranges = {{"max_tokens", "-5"}, {"max_tokens", "0"}, {"max_tokens", "1000000000000000000000000000000"},
                {"max_tokens", "1099511627776"}, {"max_tokens", "1.5"}, {"max_completion_tokens", "-1"},
                {"n", "0"}, {"n", "-1"}, {"n", "1000000000"}, {"n", "17"}, {"n", "2.5"},
                {"temperature", "-0.1"}, {"temperature", "2.5"}, {"temperature", "1e9"}, {"temperature", "1e400"},
                {"top_p", "1.5"}, {"top_p", "-1"}, {"presence_penalty", "3"}, {"presence_penalty", "-2.01"},
                {"frequency_penalty", "9"}, {"frequency_penalty", "-9"}, {"top_logprobs", "21"}, {"top_logprobs", "-1"},
                {"seed", "1.5"}, {"seed", "99999999999999999999999"}};
        for (String[] r : ranges) {
            cases.add(Case.chat(MESSAGES + ",\"" + r[0] + "\":" + r[1], r[0]));
        }
        for (String w : new String[] {"\"yes\"", "1", "0", "[]", "{}", "\"true\""}) {
            cases.add(Case.chat(MESSAGES + ",\"stream\":" + w, "stream"));
            cases.add(Case.chat(MESSAGES + ",\"logprobs\":" + w, "logprobs"));
        }
        for (String w : new String[] {"\"x\"", "5", "{}", "true", "null"}) {
            cases.add(Case.chat("\"messages\":" + w, w.equals("null") ? "messages" : "messages"));
        }
        for (String w : new String[] {"5", "{}", "true", "[1]"}) {
            cases.add(Case.chat(MESSAGES + ",\"stop\":" + w, "stop"));
        }
        // malformed messages: what backends answer with a 500, or run anyway
        for (String m : new String[] {"[]", "[1]", "[\"hi\"]", "[null]", "[[]]", "[{}]", "[{\"content\":\"hi\"}]",
                "[{\"role\":5,\"content\":\"hi\"}]", "[{\"role\":null,\"content\":\"hi\"}]", "[{\"role\":\"wizard\",\"content\":\"hi\"}]",
                "[{\"role\":[\"user\"],\"content\":\"hi\"}]", "[{\"role\":\"user\",\"content\":5}]",
                "[{\"role\":\"user\",\"content\":true}]", "[{\"role\":\"user\",\"content\":{\"text\":\"hi\"}}]",
                "[{\"role\":\"user\",\"content\":[5]}]", "[{\"role\":\"user\",\"content\":[\"hi\"]}]",
                "[{\"role\":\"user\",\"content\":[{}]}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]",
                "[{\"role\":\"user\",\"content\":[{\"type\":5}]}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]",
                "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":5}]}]",
                "[{\"role\":\"user\",\"content\":\"hi\",\"name\":5}]", "[{\"role\":\"tool\",\"content\":\"x\",\"tool_call_id\":[]}]",
                "[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":\"x\"}]",
                "[{\"role\":\"user\",\"content\":\"hi\"},7]", "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"bot\"}]"}) {
            cases.add(Case.chat("\"messages\":" + m, "messages"));
        }
        // tools, tool choice, response format, logit bias, stream options of the wrong shapes
        String[][] shaped = {{"tools", "5"}, {"tools", "\"x\""}, {"tools", "{}"}, {"tools", "[5]"}, {"tools", "[{}]"},
                {"tools", "[{\"type\":\"function\"}]"}, {"tools", "[{\"type\":\"magic\",\"function\":{\"name\":\"f\"}}]"},
                {"tools", "[{\"type\":\"function\",\"function\":{\"name\":5}}]"}, {"tools", "[{\"type\":\"function\",\"function\":{\"name\":\"\"}}]"},
                {"tools", "[{\"type\":\"function\",\"function\":\"f\"}]"},
                {"tools", "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]"},
                {"tool_choice", "5"}, {"tool_choice", "\"sometimes\""}, {"tool_choice", "[]"}, {"tool_choice", "true"},
                {"response_format", "\"json\""}, {"response_format", "5"}, {"response_format", "{}"}, {"response_format", "[]"},
                {"response_format", "{\"type\":\"yaml\"}"}, {"response_format", "{\"type\":5}"},
                {"response_format", "{\"type\":\"json_schema\",\"json_schema\":\"x\"}"},
                {"logit_bias", "5"}, {"logit_bias", "[]"}, {"logit_bias", "{\"50256\":\"x\"}"}, {"logit_bias", "{\"50256\":101}"},
                {"logit_bias", "{\"1\":-1000}"}, {"stream_options", "5"}, {"stream_options", "[]"},
                {"stream_options", "{\"include_usage\":\"yes\"}"}};
        for (String[] f : shaped) {
            cases.add(Case.chat(MESSAGES + ",\"" + f[0] + "\":" + f[1], f[0]));
        }
        // _configure: context sizes no backend takes
        for (String c : new String[] {"-5", "100000000000000000000", "\"big\"", "1.5", "[]", "1099511627776"}) {
            cases.add(new Case("POST", "/engines/sim/_configure", ("{\"model\":\"sim/tiny\",\"context-size\":" + c + "}")
                    .getBytes(StandardCharsets.UTF_8), "context-size"));
        }
        // prompts and inputs of the wrong types
        for (String w : new String[] {"5", "true", "{}", "[]", "[null]", "[1.5]", "[{}]", "[\"a\",1]", "[[1],\"a\"]", "[[\"a\"]]", "[[[1]]]"}) {
            cases.add(new Case("POST", "/v1/completions", ("{\"model\":\"sim/fast\",\"prompt\":" + w + "}").getBytes(StandardCharsets.UTF_8),
                    "prompt"));
            if (!w.equals("5") && !w.equals("true") && !w.equals("{}")) {
                cases.add(new Case("POST", "/v1/embeddings", ("{\"model\":\"sim/fast\",\"input\":" + w + "}").getBytes(StandardCharsets.UTF_8),
                        "input"));
            }
        }
        for (String w : new String[] {"5", "[]", "{}", "true", "1.5", "[\"sim/fast\"]"}) {
            cases.add(new Case("POST", "/v1/chat/completions", ("{\"model\":" + w + "," + MESSAGES + "}").getBytes(StandardCharsets.UTF_8), "model"));
        }
        for (String m : new String[] {"null", "\"\"", "\"no-such-model\"", "\"../../etc/passwd\"", "\"sim/fast\\u0000\""}) {
            cases.add(new Case("POST", "/v1/chat/completions", ("{\"model\":" + m + "," + MESSAGES + "}").getBytes(StandardCharsets.UTF_8), null));
        }
        // nesting: deep values in a field nobody reads
        for (int depth : new int[] {65, 100, 1000, 5000, 100_000}) {
            cases.add(Case.chat(MESSAGES + ",\"vendor\":" + "[".repeat(depth) + "]".repeat(depth), "vendor"));
            cases.add(Case.chat(MESSAGES + ",\"vendor\":" + "{\"a\":".repeat(depth) + "1" + "}".repeat(depth), "vendor"));
        }
        // many fields
        StringBuilder many = new StringBuilder(MESSAGES);
        for (int i = 0; i < 300; i++) {
            many.append(",\"f").append(i).append("\":1");
        }
        cases.add(Case.chat(many.toString(), null));
        // not JSON, not an object, broken encodings
        for (String body : new String[] {"", "{", "}", "[1]", "\"s\"", "null", "42", "{\"model\":\"sim/fast\"} trailing", "{'model':'x'}",
                "{\"model\":\"sim/fast\",}", "{\"model\" \"sim/fast\"}", "{\"model\":\"sim/fast\",\"messages\":[}", "\uFEFF{}", "{\"a\":NaN}",
                "{\"a\":Infinity}", "{\"a\":01}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":tru}", "{\"model\":\"sim/fast\"}}"}) {
            cases.add(new Case("POST", "/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8), null));
        }
        cases.add(new Case("POST", "/v1/chat/completions", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}, null));
        cases.add(new Case("POST", "/v1/chat/completions", new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 0}, null));
        cases.add(new Case("POST", "/v1/chat/completions", new byte[] {0, 0, 0, 0}, null));
        // the same corpus on the other completion and embedding endpoints, where it applies
        for (String endpoint : new String[] {"/v1/completions", "/engines/v1/chat/completions", "/engines/sim/v1/chat/completions",
                "/exp/vDD4.40/engines/v1/chat/completions"}) {
            cases.add(new Case("POST", endpoint, ("{\"model\":\"sim/fast\",\"prompt\":\"x\",\"max_tokens\":-5}").getBytes(StandardCharsets.UTF_8), "max_tokens"));
            cases.add(new Case("POST", endpoint, ("{\"model\":\"sim/fast\",\"prompt\":\"x\",\"n\":1000000000}").getBytes(StandardCharsets.UTF_8), "n"));
            cases.add(new Case("POST", endpoint, "{".getBytes(StandardCharsets.UTF_8), null));
        }
        cases.add(new Case("POST", "/v1/embeddings", "{\"model\":5,\"input\":\"x\"}".getBytes(StandardCharsets.UTF_8), "model"));
        cases.add(new Case("POST", "/v1/embeddings", ("{\"model\":\"sim/fast\",\"input\":" + "[".repeat(200) + "]".repeat(200) + "}")
                .getBytes(StandardCharsets.UTF_8), "input"));
        // Anthropic's Messages: its required fields and ranges (errors in Anthropic's shape, which has no param)
        String anthropicMessages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        for (String extra : new String[] {"", ",\"max_tokens\":-1", ",\"max_tokens\":\"8\"", ",\"max_tokens\":99999999999",
                ",\"max_tokens\":8,\"temperature\":1.5", ",\"max_tokens\":8,\"top_k\":-1", ",\"max_tokens\":8,\"stream\":\"yes\"",
                ",\"max_tokens\":8,\"stop_sequences\":[1]", ",\"max_tokens\":8,\"stop_sequences\":\"x\"", ",\"max_tokens\":8,\"system\":5",
                ",\"max_tokens\":8,\"top_p\":-0.1"}) {
            cases.add(new Case("POST", "/v1/messages", ("{\"model\":\"sim/fast\"," + anthropicMessages + extra + "}")
                    .getBytes(StandardCharsets.UTF_8), null));
        }
        cases.add(new Case("POST", "/v1/messages", "{\"model\":\"sim/fast\",\"max_tokens\":8}".getBytes(StandardCharsets.UTF_8), null));
        for (String m : new String[] {"[]", "[5]", "[{}]", "[{\"role\":\"wizard\",\"content\":\"x\"}]", "[{\"role\":\"user\"}]",
                "[{\"role\":\"user\",\"content\":5}]", "[{\"role\":\"user\",\"content\":[5]}]", "[{\"role\":\"user\",\"content\":[{}]}]",
                "[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":5}]}]"}) {
            cases.add(new Case("POST", "/v1/messages", ("{\"model\":\"sim/fast\",\"max_tokens\":8,\"messages\":" + m + "}")
                    .getBytes(StandardCharsets.UTF_8), null));
        }
        // Ollama's own bodies, refused before they are translated (errors in Ollama's shape: {"error": "..."})
        for (String b : new String[] {"{\"model\":\"sim/fast\",\"messages\":[5]}", "{\"model\":\"sim/fast\",\"messages\":\"x\"}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"images\":5}]}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"images\":[5]}]}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"options\":5}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"no\"}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"format\":5}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}"}) {
            cases.add(new Case("POST", "/api/chat", b.getBytes(StandardCharsets.UTF_8), null));
        }
        for (String b : new String[] {"{\"model\":\"sim/fast\",\"prompt\":5}", "{\"model\":\"sim/fast\",\"prompt\":\"x\",\"system\":[]}",
                "{\"model\":\"sim/fast\",\"prompt\":\"x\",\"images\":\"x\"}", "{\"model\":\"sim/fast\",\"prompt\":\"x\",\"options\":[]}",
                "{\"model\":\"sim/fast\",\"prompt\":\"x\",\"stream\":\"no\"}", "{\"model\":\"sim/fast\",\"prompt\":\"x\",\"keep_alive\":[]}"}) {
            cases.add(new Case("POST", "/api/generate", b.getBytes(StandardCharsets.UTF_8), null));
        }
        cases.add(new Case("POST", "/anthropic/v1/messages", "{\"model\":\"sim/fast\",\"max_tokens\":8,\"messages\":\"x\"}"
                .getBytes(StandardCharsets.UTF_8), null));
        // embeddings: a required input of the right type, and its options' ranges
        for (String[] e : new String[][] {{"{\"model\":\"sim/fast\"}", "input"}, {"{\"model\":\"sim/fast\",\"input\":5}", "input"},
                {"{\"model\":\"sim/fast\",\"input\":\"x\",\"dimensions\":0}", "dimensions"},
                {"{\"model\":\"sim/fast\",\"input\":\"x\",\"encoding_format\":\"hex\"}", "encoding_format"}}) {
            cases.add(new Case("POST", "/v1/embeddings", e[0].getBytes(StandardCharsets.UTF_8), e[1]));
        }
        // too large
        cases.add(Case.chat(MESSAGES + ",\"pad\":\"" + "x".repeat(11 << 20) + "\"", null));
        // paths and methods
        for (String path : new String[] {"/v1/chat", "/v1/chat/completions/x", "/v2/chat/completions", "/engines/nope/v1/chat/completions",
                "/v1/messages/x", "/api/nope", "/v1/responses/a/b/c", "/%2e%2e/etc/passwd", "/v1/chat/completions%00", "/engines/../v1/models/x"}) {
            cases.add(new Case("POST", path, ("{\"model\":\"sim/fast\"," + MESSAGES + "}").getBytes(StandardCharsets.UTF_8), null));
        }
        for (String method : new String[] {"GET", "PUT", "DELETE", "PATCH"}) {
            cases.add(new Case(method, "/v1/chat/completions", null, null));
            cases.add(new Case(method, "/v1/embeddings", null, null));
        }
        return cases;
    }

    @Test
    void everyHostileRequestGetsA4xxInOpenAisShapeAndTheNodeStillServes() throws Exception {
        List<Case> cases = corpus();
        assertTrue(cases.size() >= 300, "the corpus: " + cases.size());
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            List<String> wrong = new ArrayList<>();
            for (Case c : cases) {
                HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + c.path()))
                        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json");
                b.method(c.method(), c.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(c.body()));
                HttpResponse<String> r;
                try {
                    r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
                } catch (IllegalArgumentException e) {
                    continue; // a URI the JDK's client won't send is no request
                }
                String what = c.method() + " " + c.path() + " " + describe(c.body()) + " -> " + r.statusCode() + " " + abbreviate(r.body());
                if (r.statusCode() < 400 || r.statusCode() >= 500) {
                    wrong.add(what);
                    continue;
                }
                JsonNode error;
                try {
                    error = JSON.readTree(r.body()).path("error");
                } catch (Exception e) {
                    wrong.add("not JSON: " + what);
                    continue;
                }
                boolean shaped = error.path("message").isTextual() || (c.path().startsWith("/api/") && error.isTextual()); // Ollama's shape on its routes
                if (!shaped || r.body().contains("\tat ") || r.body().contains("Exception")) {
                    wrong.add("not OpenAI's error shape: " + what);
                } else if (c.param() != null && !c.param().equals(error.path("param").asText(null))) {
                    wrong.add("param should be '" + c.param() + "': " + what);
                }
            }
            assertEquals(List.of(), wrong, wrong.size() + " of " + cases.size() + " requests answered wrongly");
            HttpResponse<String> ok = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim/fast\"," + MESSAGES + ",\"max_tokens\":3,\"n\":1}"))
                    .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ok.statusCode(), "a normal request after them all: " + ok.body());
        }
    }

    /** Broken chunked framing (a bad chunk size, a chunk longer than it said, a body cut short) is a 400, never a 500. */
    @Test
    void brokenFramingIs400() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            for (String chunks : new String[] {"ZZ\r\nabc\r\n0\r\n\r\n", "5\r\n{\"mod\r\n3\r\nabcdef\r\n0\r\n\r\n", "3\r\nabc"}) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    s.setSoTimeout(30_000);
                    s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n" + chunks).getBytes(StandardCharsets.US_ASCII));
                    if (!chunks.endsWith("\r\n\r\n")) {
                        s.shutdownOutput(); // the body ends before its last chunk
                    }
                    String status = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                            StandardCharsets.US_ASCII)).readLine();
                    assertTrue(status != null && status.startsWith("HTTP/1.1 4"), describe(chunks.getBytes()) + " -> " + status);
                }
            }
        }
    }

    /** Bodies real clients send (tools, images as content parts, JSON schemas, multi-part text): they pass. */
    @Test
    void validRequestsThatRealClientsSendPass() throws Exception {
        String[] bodies = {
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"}]}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"be brief\"}]},"
                        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},{\"type\":\"image_url\","
                        + "\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\",\"detail\":\"low\"}}]}]}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],\"tools\":[{\"type\":\"function\","
                        + "\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}],"
                        + "\"tool_choice\":\"auto\"}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"},{\"role\":\"assistant\",\"content\":null,"
                        + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]},"
                        + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny\"}]}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"json\",\"name\":\"ann\"}],\"response_format\":{\"type\":"
                        + "\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}},\"stream_options\":null}",
                "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AA==\","
                        + "\"format\":\"wav\"}},{\"type\":\"text\",\"text\":\"transcribe\"}]}]}"};
        String[][] others = {{"/v1/completions", "{\"model\":\"sim/fast\",\"prompt\":[1,2,3],\"max_tokens\":2}"},
                {"/v1/completions", "{\"model\":\"sim/fast\",\"prompt\":[\"a\",\"b\"],\"max_tokens\":2}"},
                {"/v1/embeddings", "{\"model\":\"sim/embed\",\"input\":[\"a\",\"b\"]}"},
                {"/v1/chat/completions", "{\"model\":\"sim/fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                        + "\"logit_bias\":{\"50256\":-100},\"stream_options\":{\"include_usage\":true},\"stream\":true,"
                        + "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}},\"tools\":[{\"type\":\"function\","
                        + "\"function\":{\"name\":\"f\"}}]}"}};
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            for (String[] o : others) {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + o[0]))
                        .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(o[1])).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), o[1] + " -> " + r.body());
            }
            for (String body : bodies) {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), body + " -> " + r.body());
            }
        }
    }

    private static String describe(byte[] body) {
        return body == null ? "" : abbreviate(new String(body, StandardCharsets.UTF_8));
    }

    private static String abbreviate(String s) {
        return s.length() > 160 ? s.substring(0, 160) + "..." : s;
    }
}
