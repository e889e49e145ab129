package dev.llmrt.gateway.security;

import dev.llmrt.gateway.OpenAiErrors;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When keys are on, every request but the probes and {@code /metrics} needs one: {@code Authorization:
 * Bearer <key>} (OpenAI's clients) or {@code x-api-key} (Anthropic's). A missing or unknown key is a
 * 401, a route that changes the cluster without an admin key a 403, in OpenAI's error shape (Anthropic's
 * on its routes). The key found travels with the request (an attribute) for the model check. Inference
 * requests of a key with limits run under a permit of its {@link KeyLimiter}: past a limit, a 429
 * with {@code Retry-After}; the permit returns when the answer has gone, with the tokens it used.
 */
public final class KeyCheck {
    /** The caller's key, on requests that passed. */
    public static final AttributeKey<ApiKeys.Key> KEY = AttributeKey.create("llmrt-api-key", ApiKeys.Key.class);

    /** Where a key's limits are kept for the whole cluster ({@link KeyLimiter}, one entity per key). */
    public interface Limiter {
        /** @param tokens what the request may use, reserved until it ends */
        CompletionStage<KeyLimiter.Decision> acquire(ApiKeys.Key key, boolean stream, long tokens);

        void release(ApiKeys.Key key, long permit, long tokens);
    }

    private static final Logger log = LoggerFactory.getLogger(KeyCheck.class);
    private final ApiKeys keys;
    private final Limiter limiter;
    private final Executor callbacks;

    private final Materializer materializer;

    public KeyCheck(ApiKeys keys) {
        this(keys, null, Runnable::run, null);
    }

    /** @param limiter null: limits are not enforced (a gateway without a cluster) */
    public KeyCheck(ApiKeys keys, Limiter limiter, Executor callbacks, Materializer materializer) {
        this.keys = keys;
        this.limiter = limiter;
        this.callbacks = callbacks;
        this.materializer = materializer;
    }

    public Function<HttpRequest, CompletionStage<HttpResponse>> wrap(Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
        return request -> {
            String path = request.getUri().path();
            if (keys.none() && path.equals("/keys") && request.method().equals(HttpMethods.POST)) {
                // the first key turns keys on: only the node itself may make it (its CLI, or a caller on loopback)
                return fromLoopback(request) ? handler.apply(request) : refuse(false, 403, "first_key_from_node",
                        "no API key exists yet: the first (an admin's) must be made on the node itself, from loopback "
                                + "('llmrt keys create --admin'), or given in llmrt.gateway.api-keys or LLMRT_ADMIN_KEY");
            }
            if (!keys.enabled()) {
                return handler.apply(request); // keys are on once any is configured or made in the cluster
            }
            // probes, scrapes, and the blobs peers fetch from each other (BlobRoutes asks for the node's own peer token)
            if (path.equals("/health") || path.equals("/ready") || path.equals("/metrics") || path.startsWith("/store/blobs/")) {
                return handler.apply(request);
            }
            boolean anthropic = path.startsWith("/v1/messages") || path.startsWith("/anthropic/");
            Optional<String> presented = presented(request);
            Optional<ApiKeys.Key> key = presented.flatMap(keys::find);
            if (key.isEmpty() && !keys.clusterRead()) {
                // fail closed: the cluster's keys aren't known yet (or this node's state can't be read)
                return CompletableFuture.completedFuture(withShape(anthropic, OpenAiErrors.refused(503, "keys_unavailable",
                        "API keys are on but the cluster's keys have not been read yet (see the node's log if this "
                                + "lasts: its state directory may be unreadable); refusing rather than serving without keys",
                        Duration.ofSeconds(1))));
            }
            if (presented.isEmpty()) {
                return refuse(anthropic, 401, "missing_api_key",
                        "an API key is required: Authorization: Bearer <key>, or x-api-key");
            }
            if (key.isEmpty()) {
                return refuse(anthropic, 401, "invalid_api_key", keys.none()
                        ? "API keys are on and none exists: make an admin key on the node ('llmrt keys create --admin')"
                        : "the API key is not valid");
            }
            if (changesTheCluster(request, path) && !key.get().admin()) {
                return refuse(anthropic, 403, "admin_key_required",
                        "this route changes the cluster and needs an admin key");
            }
            if (showsOtherTenants(path) && !key.get().admin()) {
                return refuse(anthropic, 403, "admin_key_required",
                        "this route shows other keys' requests or the cluster's inner state and needs an admin key");
            }
            HttpRequest withKey = request.addAttribute(KEY, key.get());
            if (limiter == null || !key.get().limits().any() || !counted(request, path)) {
                return handler.apply(withKey);
            }
            ApiKeys.Limits limits = key.get().limits();
            if ((limits.maxStreams() > 0 || limits.tpm() > 0) && !(request.entity() instanceof HttpEntity.Strict)
                    && materializer != null) {
                // whether it streams, and how many tokens it may use, are in the body: read it whole first
                // (only for keys that limit streams or tokens)
                return request.entity().toStrict(STRICT_TIMEOUT.toMillis(), materializer).thenComposeAsync(strict -> {
                    HttpRequest read = withKey.withEntity(strict);
                    return limited(handler, read, key.get(), anthropic, path);
                }, callbacks);
            }
            return limited(handler, withKey, key.get(), anthropic, path);
        };
    }

    private static final Duration STRICT_TIMEOUT = Duration.ofSeconds(30);

    /** Runs the request under its key's limits: a permit first (or a 429), returned when the answer ends. */
    private CompletionStage<HttpResponse> limited(Function<HttpRequest, CompletionStage<HttpResponse>> handler,
                                                  HttpRequest request, ApiKeys.Key key, boolean anthropic, String path) {
        // the body, decoded once for both questions (a body still streaming can't be asked: neither)
        ByteString bytes = request.entity() instanceof HttpEntity.Strict strict ? strict.getData() : null;
        String body = bytes == null ? null : bytes.utf8String();
        long tokens = body != null && key.limits().tpm() > 0 ? TokenCount.mayUse(body, bytes.size()) : 0;
        return limiter.acquire(key, body != null && streams(body, path), tokens).handleAsync((decision, err) -> {
            if (err != null) {
                // the limiter can't be reached (a node moving its shard): serve rather than fail every request
                log.warn("limits of API key '{}' not checked: {}", key.name(), err.toString());
                return call(handler, request);
            }
            if (!decision.granted()) {
                HttpResponse r = OpenAiErrors.refused(429, decision.code(), decision.message(),
                        Duration.ofMillis(decision.retryAfterMillis()));
                return CompletableFuture.completedFuture(withShape(anthropic, r));
            }
            return call(handler, request).handleAsync((response, failure) -> {
                if (failure != null) {
                    limiter.release(key, decision.permit(), 0);
                    throw failure instanceof CompletionException c ? c : new CompletionException(failure);
                }
                return releasing(response, key, decision.permit());
            }, callbacks);
        }, callbacks).thenCompose(r -> r);
    }

    private static CompletionStage<HttpResponse> call(Function<HttpRequest, CompletionStage<HttpResponse>> handler,
                                                      HttpRequest request) {
        try {
            return handler.apply(request);
        } catch (Exception e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The answer, counting its tokens as it goes to the client; the permit returns when it has gone. */
    private HttpResponse releasing(HttpResponse response, ApiKeys.Key key, long permit) {
        if (response.entity() instanceof HttpEntity.Strict strict) {
            limiter.release(key, permit, TokenCount.of(strict.getData()));
            return response;
        }
        TokenCount count = new TokenCount();
        return response.withEntity(HttpEntities.createChunked(response.entity().getContentType(), response.entity().getDataBytes()
                .map(chunk -> {
                    count.scan(chunk);
                    return chunk;
                })
                .watchTermination((mat, done) -> {
                    done.whenComplete((ok, e) -> limiter.release(key, permit, count.tokens()));
                    return mat;
                })));
    }

    /** Inference requests count against a key's limits; status, lists and probes don't. */
    private static boolean counted(HttpRequest request, String path) {
        if (!request.method().equals(HttpMethods.POST)) {
            return false;
        }
        return path.endsWith("/completions") || path.endsWith("/embeddings") || path.endsWith("/messages")
                || path.endsWith("/responses") || path.endsWith("/rerank") || path.endsWith("/score")
                || path.equals("/api/chat") || path.equals("/api/generate") || path.equals("/api/embed")
                || path.equals("/api/embeddings");
    }

    /** Whether the request asks for a stream (Ollama's chat and generate stream unless told not to). */
    private static boolean streams(String body, String path) {
        if (path.equals("/api/chat") || path.equals("/api/generate")) {
            return !STREAM_FALSE.matcher(body).find();
        }
        return STREAM_TRUE.matcher(body).find();
    }

    private static final Pattern STREAM_TRUE = Pattern.compile("\"stream\"\\s*:\\s*true");
    private static final Pattern STREAM_FALSE = Pattern.compile("\"stream\"\\s*:\\s*false");

    /** The 403 for a model the caller's key may not use, or empty when it may. */
    public static Optional<HttpResponse> modelRefusal(HttpRequest request, String model) {
        return request.getAttribute(KEY).filter(k -> !k.mayUse(model)).map(k -> OpenAiErrors.error(403,
                "permission_error", "model_not_allowed", "this API key may not use model '" + model + "'"));
    }

    private static Optional<String> presented(HttpRequest request) {
        Optional<String> bearer = request.getHeader("Authorization").map(HttpHeader::value)
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7)).map(v -> v.substring(7).trim());
        return bearer.isPresent() ? bearer : request.getHeader("x-api-key").map(HttpHeader::value).map(String::trim);
    }

    /**
     * Routes that show other tenants' prompts and answers, or the cluster's inner state: the
     * recorder, the logs, the status and its events, the dashboard that reads them. An admin's.
     */
    static boolean showsOtherTenants(String path) {
        String p = withoutExpPrefix(path);
        return p.equals("/engines/requests") || p.equals("/logs") || p.startsWith("/logs/") || p.equals("/status")
                || p.startsWith("/status/") || p.equals("/dashboard") || p.startsWith("/dashboard/");
    }

    /** Whether the caller may change the cluster: an admin key, or keys are off (no key rides on the request). */
    public static boolean mayChangeTheCluster(HttpRequest request) {
        return request.getAttribute(KEY).map(ApiKeys.Key::admin).orElse(true);
    }

    /** Whether the caller may see {@code model}: with keys off, or a key that may use it. */
    public static boolean maySee(HttpRequest request, String model) {
        return request.getAttribute(KEY).map(k -> k.admin() || k.mayUse(model)).orElse(true);
    }

    /** model-runner's routes that load, unload or configure: an admin's. */
    private static boolean changesTheCluster(HttpRequest request, String path) {
        boolean post = request.method().equals(HttpMethods.POST);
        boolean delete = request.method().equals(HttpMethods.DELETE);
        String p = withoutExpPrefix(path);
        return (post && (p.equals("/engines/unload") || p.endsWith("/_configure") || p.startsWith("/models")
                || p.equals("/api/pull"))) || (delete && (p.startsWith("/models") || p.equals("/api/delete")))
                || p.equals("/keys") || p.startsWith("/keys/");
    }

    /** model-runner serves its /engines routes under /exp/vDD4.40 too: the path without that prefix. */
    private static String withoutExpPrefix(String path) {
        return path.startsWith("/exp/vDD4.40") ? path.substring("/exp/vDD4.40".length()) : path;
    }

    private static HttpResponse withShape(boolean anthropic, HttpResponse r) {
        return anthropic ? OpenAiErrors.asAnthropic(r) : r;
    }

    /** Whether the caller's connection comes from this host's loopback (pekko.http.server.remote-address-attribute). */
    static boolean fromLoopback(HttpRequest request) {
        return request.getAttribute(org.apache.pekko.http.javadsl.model.AttributeKeys.remoteAddress)
                .flatMap(a -> a.getAddress())
                .map(java.net.InetAddress::isLoopbackAddress)
                .orElse(false);
    }

    private static CompletionStage<HttpResponse> refuse(boolean anthropic, int status, String code, String message) {
        HttpResponse r = OpenAiErrors.error(status, status == 401 ? "invalid_request_error" : "permission_error", code, message);
        if (status == 401) {
            r = r.addHeader(RawHeader.create("WWW-Authenticate", "Bearer"));
        }
        return CompletableFuture.completedFuture(withShape(anthropic, r));
    }
}
