package dev.llmrt.gateway.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.gateway.OpenAiErrors;
import dev.llmrt.gateway.Forwarded;
import dev.llmrt.gateway.StrictBody;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * OpenAI's Responses API on model-runner's mounts ({@code /responses}, {@code /v1/responses},
 * {@code /engines[/{backend}][/v1]/responses}): create (JSON, or its event stream with
 * {@code response.*} events), get, input items and delete, translated to chat completions and sent
 * through the OpenAI path. Responses are kept in this gateway's memory (the last {@code keep}), so
 * {@code previous_response_id} works with the gateway that answered.
 */
public final class ResponsesRoutes extends AllDirectives {
    private static final Pattern PATH = Pattern.compile(
            "(?:/exp/vDD4\\.40)?(?:/engines(?:/([^/]+))?)?(?:/v1)?/responses(?:/([^/]+)(/input_items)?)?");
    private static final ContentType SSE = ContentTypes.parse("text/event-stream");
    private static final int HISTORY_LIMIT = 100;

    /** A created response and the request it answered. */
    /** A kept response, with the API key that made it ("" with keys off): only that key sees it. */
    private record Stored(JsonNode request, ObjectNode response, String owner, long bytes) {}

    /** Who asks: their API key's name, or "" when keys are off. */
    private static String caller(HttpRequest request) {
        return request.getAttribute(dev.llmrt.gateway.security.KeyCheck.KEY).map(k -> k.name()).orElse("");
    }

    private final Function<HttpRequest, CompletionStage<HttpResponse>> infer;
    private final ObjectMapper json;
    private final ResponsesTranslation translate;
    private final Materializer materializer;
    private final Executor callbacks;
    private final Duration bodyTimeout;
    private final int keep;
    private final Map<String, Stored> store;
    private final long keepBytes;
    /** Bytes of what {@link #store} holds (its requests' and responses' JSON). */
    private long storedBytes;

    /** @param infer the OpenAI request path; @param keep how many responses this gateway remembers */
    public ResponsesRoutes(Function<HttpRequest, CompletionStage<HttpResponse>> infer, ObjectMapper json,
                           Materializer materializer, Duration bodyTimeout, int keep) {
        this(infer, json, materializer, bodyTimeout, keep, Long.MAX_VALUE);
    }

    /** @param keepBytes how many bytes of requests and responses it remembers at most (the oldest go first) */
    public ResponsesRoutes(Function<HttpRequest, CompletionStage<HttpResponse>> infer, ObjectMapper json,
                           Materializer materializer, Duration bodyTimeout, int keep, long keepBytes) {
        this.keepBytes = keepBytes;
        this.infer = infer;
        this.json = json;
        this.translate = new ResponsesTranslation(json);
        this.materializer = materializer;
        this.callbacks = materializer.executionContext();
        this.bodyTimeout = bodyTimeout;
        this.keep = keep;
        this.store = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Stored> eldest) {
                return false; // remember() evicts, by count and by bytes
            }
        };
    }

    public Route route() {
        return extractRequest(request -> {
            Matcher m = PATH.matcher(request.getUri().path());
            if (!m.matches()) {
                return reject();
            }
            String backend = m.group(1) == null || m.group(1).equals("v1") ? null : m.group(1);
            String id = m.group(2);
            boolean items = m.group(3) != null;
            if (id == null) {
                return post(() -> entity(Unmarshaller.entityToString(),
                        body -> completeWithFuture(create(request, backend, body))));
            }
            if (items) {
                return get(() -> complete(inputItems(id, caller(request))));
            }
            return concat(get(() -> complete(fetch(id, caller(request)))), delete(() -> complete(remove(id, caller(request)))));
        });
    }

    private CompletionStage<HttpResponse> create(HttpRequest original, String backend, String text) {
        JsonNode request;
        ObjectNode chat;
        try {
            request = json.readTree(text);
            if (request == null || !request.isObject()) {
                return done(OpenAiErrors.badRequest("request body must be a JSON object"));
            }
            if (request.path("model").asText("").isEmpty()) {
                return done(OpenAiErrors.badRequest("'model' is required"));
            }
            chat = translate.toChat(request, history(request.path("previous_response_id").asText(null), caller(original)));
        } catch (IOException e) {
            return done(OpenAiErrors.badRequest("request body is not valid JSON"));
        } catch (IllegalArgumentException e) {
            return done(OpenAiErrors.badRequest(e.getMessage()));
        }
        String path = (backend != null ? "/engines/" + backend : "") + "/v1/chat/completions";
        CompletionStage<HttpResponse> answer = infer.apply(Forwarded.request(original, path, chat.toString(), null));
        if (answer == null) {
            return done(OpenAiErrors.notFound("backend_not_found", "unknown backend '" + backend + "'"));
        }
        String id = ResponsesTranslation.newId("resp_");
        long createdAt = System.currentTimeMillis() / 1000;
        return answer.thenComposeAsync(response -> {
            if (response.status().intValue() == 200
                    && response.entity().getContentType().mediaType().toString().startsWith("text/event-stream")) {
                return done(HttpResponse.create().withEntity(HttpEntities.createChunked(SSE,
                        stream(response.entity().getDataBytes(), id, request, text.length(), createdAt, caller(original)))));
            }
            return StrictBody.of(response, bodyTimeout, materializer, callbacks).thenApplyAsync(bytes -> {
                if (response.status().intValue() != 200) {
                    return response.withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, bytes));
                }
                try {
                    JsonNode chatAnswer = json.readTree(bytes);
                    ObjectNode r = translate.response(id, request, "completed", translate.outputOf(chatAnswer),
                            chatAnswer.path("usage"), createdAt);
                    String answered = r.toString();
                    remember(id, request, text.length(), r, answered.length(), caller(original));
                    return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, answered);
                } catch (IOException e) {
                    return OpenAiErrors.badGateway("the backend's answer is not JSON");
                }
            }, callbacks);
        }, callbacks);
    }

    /** The chat stream as the Responses API's events; the finished response is kept when it ends. */
    private Source<ByteString, NotUsed> stream(Source<ByteString, ?> chatEvents, String id, JsonNode request, int requestChars,
                                               long createdAt, String owner) {
        return chatEvents.via(Framing.delimiter(ByteString.fromString("\n"), 1 << 20, FramingTruncation.ALLOW))
                .statefulMap(() -> new StreamState(id, request, requestChars, createdAt, owner),
                        (state, line) -> Pair.create(state, state.line(line.utf8String().strip())),
                        state -> Optional.of(state.finish()))
                .filter(b -> !b.isEmpty())
                .mapMaterializedValue(m -> NotUsed.getInstance());
    }

    /** One stream's progress: the message and function calls as they build up. */
    private final class StreamState {
        final String id;
        final JsonNode request;
        final long createdAt;
        final String owner;
        final int requestChars;
        int sequence;
        boolean started;
        String messageId;
        final StringBuilder text = new StringBuilder();
        final Map<Integer, String[]> calls = new LinkedHashMap<>(); // index -> {id, name, arguments}
        JsonNode usage;

        StreamState(String id, JsonNode request, int requestChars, long createdAt, String owner) {
            this.id = id;
            this.request = request;
            this.requestChars = requestChars;
            this.createdAt = createdAt;
            this.owner = owner;
        }

        ByteString line(String line) {
            StringBuilder out = new StringBuilder();
            if (!started) {
                started = true;
                ObjectNode r = translate.response(id, request, "in_progress", json.createArrayNode(), null, createdAt);
                event(out, "response.created", e -> e.set("response", r));
                event(out, "response.in_progress", e -> e.set("response", r));
            }
            if (!line.startsWith("data:") || line.endsWith("[DONE]")) {
                return ByteString.fromString(out.toString());
            }
            JsonNode chunk;
            try {
                chunk = json.readTree(line.substring(5).strip());
            } catch (IOException e) {
                return ByteString.fromString(out.toString());
            }
            if (chunk.hasNonNull("usage")) {
                usage = chunk.get("usage");
            }
            JsonNode delta = chunk.path("choices").path(0).path("delta");
            String content = delta.path("content").asText("");
            if (!content.isEmpty()) {
                if (messageId == null) {
                    messageId = ResponsesTranslation.newId("msg_");
                    ObjectNode item = translate.message(messageId, "", "in_progress");
                    item.putArray("content");
                    event(out, "response.output_item.added", e -> e.put("output_index", 0).set("item", item));
                    event(out, "response.content_part.added", e -> e.put("item_id", messageId).put("output_index", 0)
                            .put("content_index", 0).set("part", translate.outputText("")));
                }
                text.append(content);
                event(out, "response.output_text.delta", e -> e.put("item_id", messageId).put("output_index", 0)
                        .put("content_index", 0).put("delta", content));
            }
            for (JsonNode call : delta.path("tool_calls")) {
                String[] c = calls.computeIfAbsent(call.path("index").asInt(calls.size()), i -> new String[] {"", "", ""});
                if (call.hasNonNull("id")) {
                    c[0] = call.get("id").asText();
                }
                c[1] += call.path("function").path("name").asText("");
                c[2] += call.path("function").path("arguments").asText("");
            }
            return ByteString.fromString(out.toString());
        }

        ByteString finish() {
            StringBuilder out = new StringBuilder();
            ArrayNode output = json.createArrayNode();
            if (messageId != null) {
                String all = text.toString();
                event(out, "response.output_text.done", e -> e.put("item_id", messageId).put("output_index", 0)
                        .put("content_index", 0).put("text", all));
                event(out, "response.content_part.done", e -> e.put("item_id", messageId).put("output_index", 0)
                        .put("content_index", 0).set("part", translate.outputText(all)));
                ObjectNode item = translate.message(messageId, all, "completed");
                event(out, "response.output_item.done", e -> e.put("output_index", 0).set("item", item));
                output.add(item);
            }
            for (String[] c : calls.values()) {
                ObjectNode item = translate.functionCall(c[0], c[1], c[2]);
                int index = output.size();
                event(out, "response.output_item.added", e -> e.put("output_index", index).set("item", item));
                event(out, "response.function_call_arguments.done", e -> e.put("item_id", item.path("id").asText())
                        .put("output_index", index).put("arguments", c[2]));
                event(out, "response.output_item.done", e -> e.put("output_index", index).set("item", item));
                output.add(item);
            }
            ObjectNode r = translate.response(id, request, "completed", output, usage, createdAt);
            remember(id, request, requestChars, r, r.toString().length(), owner);
            event(out, "response.completed", e -> e.set("response", r));
            return ByteString.fromString(out.toString());
        }

        private void event(StringBuilder out, String type, Consumer<ObjectNode> fill) {
            ObjectNode e = json.createObjectNode().put("type", type).put("sequence_number", sequence++);
            fill.accept(e);
            out.append("event: ").append(type).append("\ndata: ").append(e).append("\n\n");
        }
    }

    /** Keeps a response for its owner; {@code requestChars} and {@code responseChars} are their JSON's sizes. */
    private void remember(String id, JsonNode request, int requestChars, ObjectNode response, int responseChars, String owner) {
        if (request.path("store").asBoolean(true)) {
            long bytes = (long) requestChars + responseChars;
            synchronized (store) {
                Stored previous = store.put(id, new Stored(request, response, owner, bytes));
                storedBytes += bytes - (previous == null ? 0 : previous.bytes());
                var eldest = store.entrySet().iterator();
                while (eldest.hasNext() && (store.size() > keep || storedBytes > keepBytes)) {
                    storedBytes -= eldest.next().getValue().bytes();
                    eldest.remove();
                }
            }
        }
    }

    /** The response {@code id} if {@code caller} made it: another key's is as good as absent (404). */
    private Optional<Stored> stored(String id, String caller) {
        synchronized (store) {
            return Optional.ofNullable(store.get(id)).filter(s -> s.owner().equals(caller));
        }
    }

    /** The conversation before {@code previousId}, as chat messages, oldest first. */
    private List<JsonNode> history(String previousId, String caller) {
        if (previousId == null || previousId.isEmpty()) {
            return List.of();
        }
        Deque<Stored> chain = new ArrayDeque<>();
        String at = previousId;
        while (at != null && !at.isEmpty() && chain.size() < HISTORY_LIMIT) {
            String current = at;
            Stored s = stored(current, caller).orElseThrow(() -> new IllegalArgumentException(
                    "previous_response_id \"" + current + "\" was not found"));
            chain.addFirst(s);
            at = s.request().path("previous_response_id").asText(null);
        }
        List<JsonNode> out = new ArrayList<>();
        for (Stored s : chain) {
            translate.turnMessages(s.request(), s.response()).forEach(out::add);
        }
        return out;
    }

    private HttpResponse fetch(String id, String caller) {
        return stored(id, caller).map(s -> HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, s.response().toString()))
                .orElseGet(() -> notFound(id));
    }

    private HttpResponse inputItems(String id, String caller) {
        return stored(id, caller).map(s -> {
            ObjectNode list = json.createObjectNode().put("object", "list");
            ArrayNode data = list.putArray("data");
            JsonNode input = s.request().path("input");
            if (input.isTextual()) {
                ObjectNode item = data.addObject().put("type", "message").put("id", ResponsesTranslation.newId("msg_"))
                        .put("role", "user");
                item.putArray("content").addObject().put("type", "input_text").put("text", input.asText());
            } else {
                input.forEach(data::add);
            }
            list.put("first_id", data.isEmpty() ? null : data.get(0).path("id").asText(null));
            list.put("last_id", data.isEmpty() ? null : data.get(data.size() - 1).path("id").asText(null));
            list.put("has_more", false);
            return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, list.toString());
        }).orElseGet(() -> notFound(id));
    }

    private HttpResponse remove(String id, String caller) {
        Stored removed;
        synchronized (store) {
            removed = store.get(id) != null && store.get(id).owner().equals(caller) ? store.remove(id) : null;
            if (removed != null) {
                storedBytes -= removed.bytes();
            }
        }
        if (removed == null) {
            return notFound(id);
        }
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON,
                json.createObjectNode().put("id", id).put("object", "response").put("deleted", true).toString());
    }

    private static HttpResponse notFound(String id) {
        return OpenAiErrors.notFound("not_found", "response '" + id + "' not found");
    }


    private static CompletionStage<HttpResponse> done(HttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
