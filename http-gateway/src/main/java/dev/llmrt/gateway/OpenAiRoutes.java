package dev.llmrt.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.model.ModelCatalog;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.gateway.metrics.GatewayMetrics;
import dev.llmrt.gateway.models.ModelDetails;
import dev.llmrt.gateway.recorder.RequestRecorder;
import dev.llmrt.gateway.security.KeyCheck;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.Inference;
import java.io.IOException;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.pattern.AskTimeoutException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI API and its model-runner forms ({@code /engines[/{backend}]/v1/...}, optionally under
 * {@code /exp/vDD4.40}): validates a request just enough to route it, then passes the client's own
 * JSON to the model's runner and its answer back, streamed when the backend streams.
 */
public final class OpenAiRoutes extends AllDirectives {
    private static final Logger log = LoggerFactory.getLogger(OpenAiRoutes.class);
    /** Taken from the client when it sends one, else made here; returned with the answer, sent to the runner. */
    public static final String REQUEST_ID = "X-Request-Id";
    private final ModelCatalog catalog;
    private final Set<String> backends;
    private final ModelRouter router;
    private final GatewaySettings settings;
    private final Materializer materializer;
    private final ObjectMapper json;
    private final GatewayMetrics metrics;
    private final RequestRecorder recorder;
    private final ModelDetails details = new ModelDetails();

    /** What the model lists say of each model; shared with the other APIs' routes (one cache per gateway). */
    public ModelDetails details() {
        return details;
    }
    /** Runs future callbacks (the common pool would start a thread per callback on 2 cores). */
    private final Executor callbacks;
    private final long created = Instant.now().getEpochSecond();

    public OpenAiRoutes(ModelCatalog catalog, Set<String> backends, ModelRouter router, GatewaySettings settings,
                        Materializer materializer, ObjectMapper json, GatewayMetrics metrics) {
        this(catalog, backends, router, settings, materializer, json, metrics, new RequestRecorder(0, 0, json, m -> null));
    }

    /** @param recorder keeps the last requests per model for {@code GET /engines/requests} */
    public OpenAiRoutes(ModelCatalog catalog, Set<String> backends, ModelRouter router, GatewaySettings settings,
                        Materializer materializer, ObjectMapper json, GatewayMetrics metrics, RequestRecorder recorder) {
        this.recorder = recorder;
        this.metrics = metrics;
        this.callbacks = materializer.executionContext();
        this.catalog = catalog;
        this.backends = Set.copyOf(backends);
        this.router = router;
        this.settings = settings;
        this.materializer = materializer;
        this.json = json;
    }

    public Route route() {
        return extractRequest(request -> {
            Optional<InferencePath> parsed = InferencePath.parse(request.getUri().path());
            if (parsed.isEmpty()) {
                return reject();
            }
            InferencePath path = parsed.get();
            if (path.backend() != null && !backends.contains(path.backend())) {
                return complete(OpenAiErrors.notFound("backend_not_found", "unknown backend '" + path.backend()
                        + "' (available: " + String.join(", ", backends.stream().sorted().toList()) + ")"));
            }
            if (request.method().equals(HttpMethods.GET) && path.isModelList()) {
                return complete(modelList(path.backend()));
            }
            if (request.method().equals(HttpMethods.GET) && path.modelId().isPresent()) {
                return complete(model(path.backend(), path.modelId().get()));
            }
            if (request.method().equals(HttpMethods.POST) && path.isInference()) {
                return completeWithFuture(infer(path, request));
            }
            return reject();
        });
    }

    /**
     * The hot path, without the routing tree: the answer to an inference POST on a backend this
     * gateway knows, or null for any other request (the routes take it).
     */
    public CompletionStage<HttpResponse> inferIfInference(HttpRequest request) {
        if (!request.method().equals(HttpMethods.POST)) {
            return null;
        }
        Optional<InferencePath> parsed = InferencePath.parse(request.getUri().path());
        if (parsed.isEmpty() || !parsed.get().isInference()
                || (parsed.get().backend() != null && !backends.contains(parsed.get().backend()))) {
            return null;
        }
        return infer(parsed.get(), request);
    }

    /** One request as its metrics see it: the model once known (else ""), and whether it streamed. */
    private static final class Call {
        final long start = System.nanoTime();
        final String route;
        final String origin;
        /** The client's X-Request-Id (printable, at most 128 characters), else one made here. */
        final String id;
        String model = "";
        boolean streamed;
        RequestRecorder.Record record;

        Call(String route, String origin, String clientId) {
            this.route = route;
            this.origin = origin;
            this.id = clientId != null && clientId.length() <= 128 && clientId.chars().allMatch(c -> c > 0x20 && c < 0x7f)
                    ? clientId : Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
        }
    }

    /** Reads the body (up to the limit), finds the model, relays the runner's answer, and counts it. */
    CompletionStage<HttpResponse> infer(InferencePath path, HttpRequest request) {
        String origin = request.getHeader(Inference.REQUEST_ORIGIN_HEADER).map(HttpHeader::value)
                .orElse(path.isAnthropic() ? Inference.ORIGIN_ANTHROPIC_MESSAGES : null);
        Call call = new Call(path.endpoint(), origin, request.getHeader(REQUEST_ID).map(HttpHeader::value).orElse(null));
        return answer(path, request, call).thenApply(response -> {
            if (!call.streamed) { // a stream is counted (and recorded) when it ends
                metrics.answered(call.model, call.route, response.status().intValue(), call.origin, call.start);
                if (call.record != null && response.entity() instanceof HttpEntity.Strict strict) {
                    recorder.finish(call.record, response.status().intValue(), strict.getData().toArrayUnsafe());
                }
            }
            if (response.status().intValue() >= 500) {
                log.warn("request {} for '{}' answered {}", call.id, call.model, response.status().intValue());
            }
            HttpResponse shaped = path.isAnthropic() ? OpenAiErrors.asAnthropic(response) : response;
            return shaped.addHeader(RawHeader.create(REQUEST_ID, call.id));
        });
    }

    private CompletionStage<HttpResponse> answer(InferencePath path, HttpRequest request, Call call) {
        long limit = settings.maxBodyBytes();
        Optional<Long> declared = request.entity().getContentLengthOption().isPresent()
                ? Optional.of(request.entity().getContentLengthOption().getAsLong()) : Optional.empty();
        if (declared.isPresent() && declared.get() > limit) {
            // answer once the body is read and dropped: a 413 sent while the client still writes makes
            // Pekko close the connection, and the client then sees a broken pipe instead of the 413
            return request.discardEntityBytes(materializer).completionStage()
                    .handle((done, e) -> OpenAiErrors.tooLarge(limit));
        }
        if (request.entity() instanceof HttpEntity.Strict strict) {
            // the whole body came with the head (the usual case): no stream to run to collect it
            if (strict.getData().size() > limit) {
                return done(OpenAiErrors.tooLarge(limit));
            }
            return dispatch(path, request, strict.getData().toArray(), call).exceptionally(e -> failure(e, limit));
        }
        return request.entity().toStrict(settings.bodyReadTimeout().toMillis(), limit, materializer)
                .thenComposeAsync(s -> dispatch(path, request, s.getData().toArray(), call), callbacks)
                .exceptionallyAsync(e -> failure(e, limit), callbacks);
    }

    private CompletionStage<HttpResponse> dispatch(InferencePath path, HttpRequest request, byte[] body, Call call) {
        RequestPeek.Peeked peeked;
        String endpoint = path.endpoint();
        RequestPeek.Schema schema = endpoint.equals("/v1/chat/completions") || endpoint.equals("/v1/completions")
                ? RequestPeek.Schema.COMPLETION : endpoint.equals(InferencePath.MESSAGES) ? RequestPeek.Schema.MESSAGES
                : endpoint.equals("/v1/embeddings") ? RequestPeek.Schema.EMBEDDINGS : RequestPeek.Schema.ANY;
        try {
            peeked = RequestPeek.peek(json.getFactory(), body, settings.validation(), schema);
        } catch (RequestPeek.NotAnObject e) {
            return done(OpenAiErrors.badRequest("request body must be a JSON object"));
        } catch (RequestPeek.Invalid e) {
            return done(OpenAiErrors.invalid(e.param, e.getMessage()));
        } catch (IOException e) {
            return done(OpenAiErrors.badRequest("request body is not valid JSON: " + firstLine(e.getMessage())));
        }
        String model = peeked.model();
        if (model == null || model.isBlank()) {
            return done(OpenAiErrors.badRequest("'model' is required"));
        }
        Optional<ModelSpec> spec = catalog.find(model);
        if (spec.isEmpty()) {
            return done(OpenAiErrors.notFound("model_not_found", "model '" + model + "' not found"));
        }
        if (path.backend() != null && !path.backend().equals(spec.get().backend())) {
            return done(OpenAiErrors.notFound("model_not_found", "model '" + model + "' is served by backend '"
                    + spec.get().backend() + "', not '" + path.backend() + "'"));
        }
        Optional<HttpResponse> notAllowed = KeyCheck.modelRefusal(request, model);
        if (notAllowed.isPresent()) {
            return done(notAllowed.get());
        }
        long context = spec.get().config().configuredContextSize().orElse(0L);
        if (peeked.maxTokens() > 0 && context > 0 && peeked.maxTokens() > context) {
            return done(OpenAiErrors.invalid("max_tokens", "'max_tokens' is " + peeked.maxTokens()
                    + ", more than model '" + model + "''s context size of " + context));
        }
        call.model = model;
        String origin = call.origin;
        if (recorder.enabled()) {
            call.record = recorder.start(call.id, model, "POST", request.getUri().path(), body,
                    request.getHeader("User-Agent").map(HttpHeader::value).orElse(null), origin);
        }
        // a client's affinity key keeps it on one replica: the configured header, else OpenAI's 'user'
        String affinity = request.getHeader(settings.affinityHeader()).map(HttpHeader::value).orElse(peeked.user());
        BackendMode mode = BackendMode.forRequestPath(path.endpoint());
        // the router's stage is a plain CompletableFuture: toResponse runs where the answer lands
        return router.route(model, mode, new InferenceProtocol.Request(path.endpoint(), body, origin, call.id), affinity)
                .thenApply(routed -> toResponse(routed, call));
    }

    private HttpResponse toResponse(Routed routed, Call call) {
        if (routed instanceof Routed.Streaming s) {
            call.streamed = true;
            return HttpResponse.create().withStatus(StatusCodes.get(s.status()))
                    .withEntity(HttpEntities.createChunked(contentType(s.contentType()), recorder.tap(call.record, s.status(),
                            metrics.timed(s.body(), call.model, call.route, s.status(), call.origin, call.start))));
        }
        if (routed instanceof Routed.Refused r) {
            return OpenAiErrors.refused(r.status(), r.code(), r.message(), r.retryAfter());
        }
        InferenceProtocol.Reply reply = ((Routed.Answered) routed).reply();
        if (reply instanceof InferenceProtocol.Completed c) {
            if (c.status() == 200) {
                metrics.usage(call.model, c.body());
            }
            return HttpResponse.create().withStatus(StatusCodes.get(c.status()))
                    .withEntity(HttpEntities.create(contentType(c.contentType()), ByteString.fromArrayUnsafe(c.body())));
        }
        InferenceProtocol.Failed f = (InferenceProtocol.Failed) reply;
        return switch (f.kind()) {
            case MODEL_NOT_FOUND -> OpenAiErrors.notFound("model_not_found", f.message());
            case BAD_REQUEST -> OpenAiErrors.badRequest(f.message());
            case BACKEND_NOT_INSTALLED -> OpenAiErrors.error(412, "server_error", "backend_not_installed", f.message());
            case RUNNER_UNAVAILABLE, RUNNER_GONE -> OpenAiErrors.unavailable(f.message());
            case BACKEND_FAILED -> OpenAiErrors.badGateway(f.message());
        };
    }

    /** A request that failed with an exception: the client gets the reason, and the log the whole error. */
    private HttpResponse failure(Throwable e, long limit) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (tooLarge(cause)) {
            return OpenAiErrors.tooLarge(limit);
        }
        if (cause instanceof EntityStreamException bad) {
            // the client's framing was broken (a bad chunk size, a body cut short): its fault, not ours
            return OpenAiErrors.badRequest("the request body could not be read: " + bad.info().summary());
        }
        if (cause instanceof AskTimeoutException || cause instanceof TimeoutException) {
            log.warn("no response from a runner within {}: {}", settings.responseTimeout(), cause.toString());
            return OpenAiErrors.timeout("no response from the model's runner within " + settings.responseTimeout());
        }
        log.error("request failed unexpectedly", cause);
        return OpenAiErrors.internal("request failed: " + cause);
    }

    /**
     * A body over the limit: with a declared length Pekko raises a size exception; a chunked body
     * that runs over fails its stream with "Request too large" instead.
     */
    private static boolean tooLarge(Throwable cause) {
        return cause instanceof EntityStreamSizeException
                || (cause instanceof EntityStreamException e && e.info().summary().startsWith("Request too large"));
    }

    private HttpResponse modelList(String backend) {
        ObjectNode root = json.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        for (ModelSpec spec : catalog.all()) {
            if (backend == null || backend.equals(spec.backend())) {
                data.add(modelJson(spec));
            }
        }
        return jsonResponse(root);
    }

    private HttpResponse model(String backend, String id) {
        return catalog.find(id).filter(s -> backend == null || backend.equals(s.backend()))
                .map(s -> jsonResponse(modelJson(s)))
                .orElseGet(() -> OpenAiErrors.notFound("model_not_found", "model '" + id + "' not found"));
    }

    /** model-runner's model entry, with its {@code dmr} object: what the model's file says it is. */
    private ObjectNode modelJson(ModelSpec spec) {
        ObjectNode m = json.createObjectNode().put("id", spec.name()).put("object", "model").put("created", created)
                .put("owned_by", "llmrt").put("backend", spec.backend());
        ModelDetails.Details d = details.of(spec);
        ObjectNode dmr = json.createObjectNode();
        long context = spec.config().configuredContextSize().filter(c -> c > 0).orElse(d.contextSize());
        if (context > 0) {
            dmr.put("context_window", context);
        }
        putIfKnown(dmr, "architecture", d.family());
        putIfKnown(dmr, "parameters", d.parameters());
        putIfKnown(dmr, "quantization", d.quantization());
        if (d.size() > 0) {
            dmr.put("size", String.format(Locale.ROOT, "%.2f MiB", d.size() / (1024.0 * 1024.0)));
        }
        if (!dmr.isEmpty()) {
            m.set("dmr", dmr);
        }
        return m;
    }

    private static void putIfKnown(ObjectNode o, String key, String value) {
        if (!value.isEmpty()) {
            o.put(key, value);
        }
    }

    private HttpResponse jsonResponse(JsonNode node) {
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, node.toString());
    }

    /** Backends send a handful of content types: parse each once. */
    private final Map<String, ContentType> contentTypes = new ConcurrentHashMap<>();

    private ContentType contentType(String value) {
        return contentTypes.computeIfAbsent(value, v -> {
            try {
                return ContentTypes.parse(v);
            } catch (RuntimeException e) {
                return ContentTypes.APPLICATION_OCTET_STREAM;
            }
        });
    }

    private static CompletionStage<HttpResponse> done(HttpResponse response) {
        return CompletableFuture.completedFuture(response);
    }

    private static String firstLine(String s) {
        int nl = s == null ? -1 : s.indexOf('\n');
        return nl < 0 ? String.valueOf(s) : s.substring(0, nl);
    }
}
