package dev.llmrt.runtime.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The sim backend's process: an OpenAI-compatible server on a Unix socket that behaves like
 * llama-server (health while loading, chat/completions in JSON and SSE, embeddings, rerank,
 * metrics, 421 for another model) at a speed and size set by {@link SimSettings}.
 *
 * <p>Arguments: {@code --socket PATH --model ID --model-ref NAME --mode MODE [--parent-pid PID] [sim flags]}.
 */
public final class SimServer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards "
            + "quietly hex jolly boxing frogs near the old mill and every token arrives in order").split(" ");

    private final String model;
    private final String modelRef;
    private final SimSettings settings;
    private final long readyAtNanos;
    private final Semaphore sequences;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong predictedTokens = new AtomicLong();
    private final AtomicLong processing = new AtomicLong();
    private final AtomicLong deferred = new AtomicLong();
    private final AtomicLong ids = new AtomicLong();

    SimServer(String model, String modelRef, SimSettings settings) {
        this.model = model;
        this.modelRef = modelRef;
        this.settings = settings;
        this.readyAtNanos = System.nanoTime() + (long) (settings.loadTimeMs() * 1_000_000);
        this.sequences = new Semaphore(settings.maxSeqs(), true);
    }

    public static void main(String[] args) throws Exception {
        String socket = null;
        String model = null;
        String modelRef = null;
        long parentPid = -1;
        List<String> flags = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--socket" -> socket = args[++i];
                case "--model" -> model = args[++i];
                case "--model-ref" -> modelRef = args[++i];
                case "--mode" -> i++; // the sim serves every endpoint whatever its mode
                case "--parent-pid" -> parentPid = Long.parseLong(args[++i]);
                default -> flags.add(args[i]);
            }
        }
        if (socket == null || model == null) {
            System.err.println("sim: usage: --socket PATH --model ID [--model-ref NAME] [flags]");
            System.exit(2);
        }
        SimSettings settings;
        try {
            settings = SimSettings.parse(flags);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        if (settings.failAtStart() != null) {
            System.err.println("sim: " + settings.failAtStart());
            System.exit(1);
        }
        if (parentPid > 0) {
            // never outlive the runtime that started us, even if it was SIGKILLed
            ProcessHandle.of(parentPid).ifPresentOrElse(
                    p -> p.onExit().thenRun(() -> System.exit(0)), () -> System.exit(0));
        }
        SimServer sim = new SimServer(model, modelRef == null ? model : modelRef, settings);
        UnixHttpServer server = UnixHttpServer.start(Path.of(socket), sim::handle);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (IOException ignored) {
                // exiting anyway
            }
        }));
        System.err.println("sim: serving " + sim.modelRef + " on " + socket + " with " + settings);
        new CountDownLatch(1).await();
    }

    void handle(UnixHttpServer.Exchange ex) throws IOException {
        String path = ex.path;
        if (ex.method.equals("GET")) {
            switch (path) {
                case "/health" -> health(ex);
                case "/v1/models", "/models" -> models(ex);
                case "/metrics" -> ex.respond(200, "text/plain; version=0.0.4", metrics().getBytes(StandardCharsets.UTF_8));
                default -> error(ex, 404, "not_found_error", "File Not Found");
            }
            return;
        }
        if (!ex.method.equals("POST")) {
            error(ex, 405, "invalid_request_error", "method not allowed");
            return;
        }
        if (!ready()) {
            error(ex, 503, "unavailable_error", "Loading model");
            return;
        }
        JsonNode body;
        try {
            body = JSON.readTree(ex.body);
            if (body == null || !body.isObject()) {
                throw new IOException("not an object");
            }
        } catch (IOException e) {
            error(ex, 400, "invalid_request_error", "request body is not a JSON object");
            return;
        }
        String requested = body.path("model").asText("");
        if (!requested.isEmpty() && !requested.equals(modelRef) && !requested.equals(model)) {
            error(ex, 421, "invalid_request_error", "this runner serves '" + modelRef + "', not '" + requested + "'");
            return;
        }
        long n = requests.incrementAndGet();
        if (settings.exitAfter() >= 0 && n > settings.exitAfter()) {
            System.err.println("sim: injected fault: dying on request " + n + " (exit-after " + settings.exitAfter() + ")");
            Runtime.getRuntime().halt(3);
        }
        switch (path) {
            case "/v1/chat/completions", "/chat/completions" -> generate(ex, body, true);
            case "/v1/completions", "/completions" -> generate(ex, body, false);
            case "/v1/embeddings", "/embeddings" -> embeddings(ex, body);
            case "/rerank", "/v1/rerank", "/reranking", "/v1/reranking" -> rerank(ex, body);
            case "/v1/messages" -> messages(ex, body);
            case "/v1/messages/count_tokens" -> ex.respond(200, "application/json", JSON.writeValueAsBytes(
                    JSON.createObjectNode().put("input_tokens", countWords(body.path("messages")) + countWords(body.path("system")))));
            default -> error(ex, 404, "not_found_error", "File Not Found");
        }
    }

    private boolean ready() {
        return !settings.hang() && System.nanoTime() >= readyAtNanos;
    }

    private void health(UnixHttpServer.Exchange ex) throws IOException {
        if (ready()) {
            ex.respond(200, "application/json", "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8));
        } else {
            ex.respond(503, "application/json",
                    "{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}".getBytes(StandardCharsets.UTF_8));
        }
    }

    private void models(UnixHttpServer.Exchange ex) throws IOException {
        ObjectNode root = JSON.createObjectNode().put("object", "list");
        root.putArray("data").addObject().put("id", modelRef).put("object", "model")
                .put("created", System.currentTimeMillis() / 1000).put("owned_by", "sim");
        ex.respond(200, "application/json", JSON.writeValueAsBytes(root));
    }

    /** Chat or text completion, JSON or SSE, generating words at the configured speed. */
    private void generate(UnixHttpServer.Exchange ex, JsonNode body, boolean chat) throws IOException {
        int maxTokens = body.has("max_completion_tokens") ? body.get("max_completion_tokens").asInt()
                : body.path("max_tokens").asInt(settings.maxTokens());
        maxTokens = Math.max(0, maxTokens);
        boolean limited = body.has("max_tokens") || body.has("max_completion_tokens");
        boolean stream = body.path("stream").asBoolean(false);
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        int prompt = chat ? countWords(body.path("messages")) : countWords(body.path("prompt"));
        if (chat && !body.path("messages").isArray()) {
            error(ex, 400, "invalid_request_error", "'messages' is required");
            return;
        }
        String id = (chat ? "chatcmpl-sim-" : "cmpl-sim-") + ids.incrementAndGet();
        long created = System.currentTimeMillis() / 1000;
        String finish = limited ? "length" : "stop";
        String object = chat ? (stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";

        acquireSequence();
        processing.incrementAndGet();
        try {
            promptTokens.addAndGet(prompt);
            pause(settings.ttftMs());
            if (!stream) {
                String text = generateAll(maxTokens);
                ObjectNode root = header(id, object, created);
                ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
                if (chat) {
                    choice.putObject("message").put("role", "assistant").put("content", text);
                } else {
                    choice.put("text", text).putNull("logprobs");
                }
                choice.put("finish_reason", finish);
                usage(root.putObject("usage"), prompt, maxTokens);
                ex.respond(200, "application/json", JSON.writeValueAsBytes(root));
                return;
            }
            ex.startChunked(200, "text/event-stream");
            if (chat) {
                ObjectNode first = header(id, object, created);
                ObjectNode c = first.putArray("choices").addObject().put("index", 0);
                c.putObject("delta").put("role", "assistant").putNull("content");
                c.putNull("finish_reason");
                sse(ex, first);
            }
            for (int i = 0; i < maxTokens; i++) {
                if (i > 0) {
                    pause(settings.tpotMs());
                }
                ObjectNode chunk = header(id, object, created);
                ObjectNode c = chunk.putArray("choices").addObject().put("index", 0);
                if (chat) {
                    c.putObject("delta").put("content", token(i));
                } else {
                    c.put("text", token(i));
                }
                c.putNull("finish_reason");
                sse(ex, chunk); // throws when the client went away: generation stops
                predictedTokens.incrementAndGet();
            }
            ObjectNode last = header(id, object, created);
            ObjectNode c = last.putArray("choices").addObject().put("index", 0);
            if (chat) {
                c.putObject("delta");
            } else {
                c.put("text", "");
            }
            c.put("finish_reason", finish);
            sse(ex, last);
            if (includeUsage) {
                ObjectNode u = header(id, object, created);
                u.putArray("choices");
                usage(u.putObject("usage"), prompt, maxTokens);
                sse(ex, u);
            }
            ex.chunk("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        } finally {
            processing.decrementAndGet();
            sequences.release();
        }
    }

    /**
     * Anthropic's Messages API, as llama-server serves it: a message JSON, or with {@code stream} its
     * event stream (message_start, content_block_start, ping, content_block_delta per token,
     * content_block_stop, message_delta with the stop reason and usage, message_stop).
     */
    private void messages(UnixHttpServer.Exchange ex, JsonNode body) throws IOException {
        if (!body.path("messages").isArray()) {
            anthropicError(ex, 400, "invalid_request_error", "messages: field required");
            return;
        }
        int maxTokens = Math.max(0, body.path("max_tokens").asInt(settings.maxTokens()));
        boolean limited = body.has("max_tokens");
        int prompt = countWords(body.path("messages")) + countWords(body.path("system"));
        String id = "msg_sim_" + ids.incrementAndGet();
        String stop = limited ? "max_tokens" : "end_turn";
        acquireSequence();
        processing.incrementAndGet();
        try {
            promptTokens.addAndGet(prompt);
            pause(settings.ttftMs());
            ObjectNode message = JSON.createObjectNode().put("id", id).put("type", "message").put("role", "assistant")
                    .put("model", modelRef);
            if (!body.path("stream").asBoolean(false)) {
                String text = generateAll(maxTokens);
                message.putArray("content").addObject().put("type", "text").put("text", text);
                message.put("stop_reason", stop).putNull("stop_sequence");
                message.putObject("usage").put("input_tokens", prompt).put("output_tokens", maxTokens);
                ex.respond(200, "application/json", JSON.writeValueAsBytes(message));
                return;
            }
            ex.startChunked(200, "text/event-stream");
            message.putArray("content");
            message.putNull("stop_reason").putNull("stop_sequence");
            message.putObject("usage").put("input_tokens", prompt).put("output_tokens", 0);
            ObjectNode start = JSON.createObjectNode().put("type", "message_start");
            start.set("message", message);
            event(ex, start);
            ObjectNode blockStart = JSON.createObjectNode().put("type", "content_block_start").put("index", 0);
            blockStart.putObject("content_block").put("type", "text").put("text", "");
            event(ex, blockStart);
            event(ex, JSON.createObjectNode().put("type", "ping"));
            for (int i = 0; i < maxTokens; i++) {
                if (i > 0) {
                    pause(settings.tpotMs());
                }
                ObjectNode delta = JSON.createObjectNode().put("type", "content_block_delta").put("index", 0);
                delta.putObject("delta").put("type", "text_delta").put("text", token(i));
                event(ex, delta);
                predictedTokens.incrementAndGet();
            }
            event(ex, JSON.createObjectNode().put("type", "content_block_stop").put("index", 0));
            ObjectNode end = JSON.createObjectNode().put("type", "message_delta");
            end.putObject("delta").put("stop_reason", stop).putNull("stop_sequence");
            end.putObject("usage").put("output_tokens", maxTokens);
            event(ex, end);
            event(ex, JSON.createObjectNode().put("type", "message_stop"));
        } finally {
            processing.decrementAndGet();
            sequences.release();
        }
    }

    /** The whole answer of a request that doesn't stream, at the configured speed per token. */
    private String generateAll(int maxTokens) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < maxTokens; i++) {
            if (i > 0) {
                pause(settings.tpotMs());
            }
            text.append(token(i));
        }
        predictedTokens.addAndGet(maxTokens);
        return text.toString();
    }

    /** One Anthropic event: {@code event: <type>} and its data. */
    private static void event(UnixHttpServer.Exchange ex, ObjectNode data) throws IOException {
        ex.chunk(("event: " + data.path("type").asText() + "\ndata: " + JSON.writeValueAsString(data) + "\n\n")
                .getBytes(StandardCharsets.UTF_8));
    }

    private static void anthropicError(UnixHttpServer.Exchange ex, int status, String type, String message) throws IOException {
        ObjectNode root = JSON.createObjectNode().put("type", "error");
        root.putObject("error").put("type", type).put("message", message);
        ex.respond(status, "application/json", JSON.writeValueAsBytes(root));
    }

    private void embeddings(UnixHttpServer.Exchange ex, JsonNode body) throws IOException {
        JsonNode input = body.get("input");
        List<String> inputs = new ArrayList<>();
        if (input != null && input.isTextual()) {
            inputs.add(input.asText());
        } else if (input != null && input.isArray()) {
            input.forEach(i -> inputs.add(i.isTextual() ? i.asText() : i.toString()));
        } else {
            error(ex, 400, "invalid_request_error", "'input' must be a string or an array");
            return;
        }
        acquireSequence();
        try {
            pause(settings.ttftMs());
            ObjectNode root = JSON.createObjectNode().put("object", "list").put("model", modelRef);
            ArrayNode data = root.putArray("data");
            int tokens = 0;
            for (int i = 0; i < inputs.size(); i++) {
                ObjectNode e = data.addObject().put("object", "embedding").put("index", i);
                ArrayNode vec = e.putArray("embedding");
                for (double v : vector(inputs.get(i))) {
                    vec.add(v);
                }
                tokens += Math.max(1, countWords(inputs.get(i)));
            }
            root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
            promptTokens.addAndGet(tokens);
            ex.respond(200, "application/json", JSON.writeValueAsBytes(root));
        } finally {
            sequences.release();
        }
    }

    /** llama-server's {@code /rerank}: score documents by the words they share with the query. */
    private void rerank(UnixHttpServer.Exchange ex, JsonNode body) throws IOException {
        if (!body.path("query").isTextual() || !body.path("documents").isArray()) {
            error(ex, 400, "invalid_request_error", "'query' (string) and 'documents' (array) are required");
            return;
        }
        List<String> query = List.of(body.get("query").asText().toLowerCase(Locale.ROOT).split("\\W+"));
        ObjectNode root = JSON.createObjectNode().put("model", modelRef).put("object", "list");
        ArrayNode results = root.putArray("results");
        int i = 0;
        int tokens = query.size();
        for (JsonNode doc : body.get("documents")) {
            String text = doc.isTextual() ? doc.asText() : doc.path("text").asText();
            String[] words = text.toLowerCase(Locale.ROOT).split("\\W+");
            long shared = java.util.Arrays.stream(words).filter(query::contains).count();
            results.addObject().put("index", i++).put("relevance_score", words.length == 0 ? 0.0 : (double) shared / words.length);
            tokens += words.length;
        }
        root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        ex.respond(200, "application/json", JSON.writeValueAsBytes(root));
    }

    private String metrics() {
        return "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n"
                + "# TYPE llamacpp:prompt_tokens_total counter\n"
                + "llamacpp:prompt_tokens_total " + promptTokens.get() + "\n"
                + "# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.\n"
                + "# TYPE llamacpp:tokens_predicted_total counter\n"
                + "llamacpp:tokens_predicted_total " + predictedTokens.get() + "\n"
                + "# HELP llamacpp:requests_processing Number of requests processing.\n"
                + "# TYPE llamacpp:requests_processing gauge\n"
                + "llamacpp:requests_processing " + processing.get() + "\n"
                + "# HELP llamacpp:requests_deferred Number of requests deferred.\n"
                + "# TYPE llamacpp:requests_deferred gauge\n"
                + "llamacpp:requests_deferred " + deferred.get() + "\n"
                + "# HELP sim:requests_total Inference requests received.\n"
                + "# TYPE sim:requests_total counter\n"
                + "sim:requests_total " + requests.get() + "\n";
    }

    private void acquireSequence() {
        if (!sequences.tryAcquire()) {
            deferred.incrementAndGet();
            sequences.acquireUninterruptibly();
            deferred.decrementAndGet();
        }
    }

    private ObjectNode header(String id, String object, long created) {
        return JSON.createObjectNode().put("id", id).put("object", object).put("created", created).put("model", modelRef);
    }

    private static void usage(ObjectNode usage, int prompt, int completion) {
        usage.put("prompt_tokens", prompt).put("completion_tokens", completion).put("total_tokens", prompt + completion);
    }

    private static void sse(UnixHttpServer.Exchange ex, ObjectNode event) throws IOException {
        byte[] json = JSON.writeValueAsBytes(event);
        byte[] out = new byte[json.length + 8];
        System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, out, 0, 6);
        System.arraycopy(json, 0, out, 6, json.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        ex.chunk(out);
    }

    /** The i-th generated token: a word and a space, so tests can check order by position. */
    static String token(int i) {
        return WORDS[i % WORDS.length] + " ";
    }

    private static int countWords(JsonNode node) {
        if (node.isTextual()) {
            return countWords(node.asText());
        }
        int n = 0;
        for (JsonNode child : node) {
            n += !child.isObject() ? countWords(child)
                    : child.has("text") ? countWords(child.path("text")) : countWords(child.path("content"));
        }
        return n;
    }

    private static int countWords(String s) {
        String t = s.strip();
        return t.isEmpty() ? 0 : t.split("\\s+").length;
    }

    private double[] vector(String text) {
        double[] v = new double[settings.embeddingDim()];
        long seed = text.hashCode() * 0x9E3779B97F4A7C15L;
        double norm = 0;
        for (int i = 0; i < v.length; i++) {
            seed ^= seed << 13;
            seed ^= seed >>> 7;
            seed ^= seed << 17;
            v[i] = (seed % 10_000) / 10_000.0;
            norm += v[i] * v[i];
        }
        norm = Math.sqrt(norm);
        for (int i = 0; i < v.length; i++) {
            v[i] = norm == 0 ? 0 : v[i] / norm;
        }
        return v;
    }

    private static void pause(double ms) {
        if (ms <= 0) {
            return;
        }
        long deadline = System.nanoTime() + (long) (ms * 1_000_000);
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    private static void error(UnixHttpServer.Exchange ex, int status, String type, String message) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("error").put("code", status).put("message", message).put("type", type);
        ex.respond(status, "application/json", JSON.writeValueAsBytes(root));
    }

}
