package dev.llmrt.gateway.recorder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * model-runner's recorder of the last requests per model, for {@code GET /engines/requests}: each
 * request's body and its answer (a streamed answer put back together as one JSON response, as
 * model-runner does), status, origin and user agent. On the request path it only keeps references:
 * bodies become text when someone reads the records. Holds the last {@code perModel} of each model
 * that this gateway served; 0 records nothing.
 */
public final class RequestRecorder {
    /** One request and, once it ended, its answer. Fields are written once, then read by the routes. */
    public static final class Record {
        final String id;
        final String model;
        final String method;
        final String url;
        /** At most the first max-body-bytes of the body (kept cut: the recorder's memory is bounded in bytes). */
        final byte[] request;
        final int requestLength;
        final long timestamp;
        final String userAgent;
        final String origin;
        volatile int status;
        volatile byte[] response;
        volatile int responseLength;
        /** A streamed answer's events as they came: put together into {@link #response} when first read. */
        volatile String streamed;
        volatile String error;

        Record(String id, String model, String method, String url, byte[] request, int requestLength, String userAgent,
               String origin) {
            this.id = id;
            this.model = model;
            this.method = method;
            this.url = url;
            this.request = request;
            this.requestLength = requestLength;
            this.timestamp = System.currentTimeMillis() / 1000;
            this.userAgent = userAgent;
            this.origin = origin;
        }
    }

    private final int perModel;
    private final int maxBodyBytes;
    private final ObjectMapper json;
    private final Function<String, JsonNode> configOf;
    private final Map<String, ArrayDeque<Record>> byModel = new ConcurrentHashMap<>();
    private final List<Consumer<Record>> listeners = new CopyOnWriteArrayList<>();

    /**
     * @param maxBodyBytes the most of a body or answer shown (a longer one is cut, and says so)
     * @param configOf     the model's configuration as {@code GET /engines/_configure} shows it
     */
    public RequestRecorder(int perModel, int maxBodyBytes, ObjectMapper json, Function<String, JsonNode> configOf) {
        this.perModel = perModel;
        this.maxBodyBytes = maxBodyBytes;
        this.json = json;
        this.configOf = configOf;
    }

    public boolean enabled() {
        return perModel > 0;
    }

    /** Records a request for {@code model}; null when recording is off. */
    public Record start(String id, String model, String method, String url, byte[] body, String userAgent, String origin) {
        if (perModel <= 0) {
            return null;
        }
        Record r = new Record(id, model, method, url, cut(body), body == null ? 0 : body.length, userAgent, origin);
        ArrayDeque<Record> records = byModel.computeIfAbsent(model, m -> new ArrayDeque<>(perModel));
        synchronized (records) {
            if (records.size() == perModel) {
                records.removeFirst();
            }
            records.addLast(r);
        }
        return r;
    }

    /** The answer of a request that wasn't streamed. */
    public void finish(Record r, int status, byte[] response) {
        if (r == null) {
            return;
        }
        r.status = status;
        if (status >= 400) {
            r.error = text(response, response == null ? 0 : response.length);
        } else {
            r.responseLength = response == null ? 0 : response.length;
            r.response = cut(response);
        }
        listeners.forEach(l -> l.accept(r));
    }

    /** A streamed answer: its events are kept (up to the limit) and put together when it ends. */
    public Source<ByteString, NotUsed> tap(Record r, int status, Source<ByteString, NotUsed> body) {
        if (r == null) {
            return body;
        }
        return body.statefulMap(() -> new ByteString[] {ByteString.emptyByteString()},
                (kept, part) -> {
                    if (kept[0].size() < maxBodyBytes) {
                        kept[0] = kept[0].concat(part);
                    }
                    return Pair.create(kept, part);
                },
                kept -> {
                    r.status = status;
                    r.streamed = kept[0].utf8String();
                    listeners.forEach(l -> l.accept(r));
                    return Optional.empty();
                });
    }

    /** Hears every request that ended, as it ends. */
    public Runnable listen(Consumer<Record> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** model-runner's {@code []ModelRecordsResponse}: every model's records, or one model's. */
    public ArrayNode records(String model) {
        ArrayNode out = json.createArrayNode();
        byModel.forEach((name, records) -> {
            if (model == null || model.equals(name)) {
                List<Record> copy;
                synchronized (records) {
                    copy = new ArrayList<>(records);
                }
                out.add(group(name, copy));
            }
        });
        return out;
    }

    /** One record in model-runner's shape: a list holding its model with just this record. */
    public ArrayNode single(Record r) {
        return json.createArrayNode().add(group(r.model, List.of(r)));
    }

    private ObjectNode group(String model, List<Record> records) {
        ObjectNode o = json.createObjectNode().put("count", records.size()).put("model", model);
        o.set("config", configOf.apply(model));
        ArrayNode list = o.putArray("records");
        records.forEach(r -> list.add(toJson(r)));
        return o;
    }

    private ObjectNode toJson(Record r) {
        ObjectNode o = json.createObjectNode().put("id", r.id).put("model", r.model).put("method", r.method)
                .put("url", r.url).put("request", text(r.request, r.requestLength));
        if (r.response == null && r.streamed != null) {
            byte[] assembled = StreamedAnswer.assemble(json, r.streamed).getBytes(StandardCharsets.UTF_8);
            r.responseLength = assembled.length;
            r.response = cut(assembled);
            r.streamed = null;
        }
        if (r.response != null) {
            o.put("response", text(r.response, r.responseLength));
        }
        if (r.error != null) {
            o.put("error", r.error);
        }
        o.put("timestamp", r.timestamp).put("status_code", r.status);
        if (r.userAgent != null && !r.userAgent.isEmpty()) {
            o.put("user_agent", r.userAgent);
        }
        if (r.origin != null && !r.origin.isEmpty()) {
            o.put("origin", r.origin);
        }
        return o;
    }

    /** The first max-body-bytes of a body: all a record keeps of it. */
    private byte[] cut(byte[] bytes) {
        return bytes == null || bytes.length <= maxBodyBytes ? bytes : java.util.Arrays.copyOf(bytes, maxBodyBytes);
    }

    /** A kept body, saying how long it was when it was cut. */
    private String text(byte[] bytes, int length) {
        if (bytes == null) {
            return "";
        }
        String kept = new String(bytes, 0, Math.min(bytes.length, maxBodyBytes), StandardCharsets.UTF_8);
        return length <= maxBodyBytes ? kept : kept + "... (" + length + " bytes, cut)";
    }
}
