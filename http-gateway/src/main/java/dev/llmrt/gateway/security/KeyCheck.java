package dev.llmrt.gateway.security;

import dev.llmrt.gateway.OpenAiErrors;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;

/**
 * When keys are on, every request but the probes and {@code /metrics} needs one: {@code Authorization:
 * Bearer <key>} (OpenAI's clients) or {@code x-api-key} (Anthropic's). A missing or unknown key is a
 * 401, a route that changes the cluster without an admin key a 403, in OpenAI's error shape (Anthropic's
 * on its routes). The key found travels with the request (an attribute) for the model check.
 */
public final class KeyCheck {
    /** The caller's key, on requests that passed. */
    public static final AttributeKey<ApiKeys.Key> KEY = AttributeKey.create("llmrt-api-key", ApiKeys.Key.class);

    private final ApiKeys keys;

    public KeyCheck(ApiKeys keys) {
        this.keys = keys;
    }

    public Function<HttpRequest, CompletionStage<HttpResponse>> wrap(Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
        if (!keys.enabled()) {
            return handler;
        }
        return request -> {
            String path = request.getUri().path();
            // probes, scrapes, and the blobs peers fetch from each other (content-addressed: a digest names each)
            if (path.equals("/health") || path.equals("/ready") || path.equals("/metrics") || path.startsWith("/store/blobs/")) {
                return handler.apply(request);
            }
            boolean anthropic = path.startsWith("/v1/messages") || path.startsWith("/anthropic/");
            Optional<String> presented = presented(request);
            if (presented.isEmpty()) {
                return refuse(anthropic, 401, "missing_api_key",
                        "an API key is required: Authorization: Bearer <key>, or x-api-key");
            }
            Optional<ApiKeys.Key> key = keys.find(presented.get());
            if (key.isEmpty()) {
                return refuse(anthropic, 401, "invalid_api_key", "the API key is not valid");
            }
            if (changesTheCluster(request, path) && !key.get().admin()) {
                return refuse(anthropic, 403, "admin_key_required",
                        "this route changes the cluster and needs an admin key");
            }
            return handler.apply(request.addAttribute(KEY, key.get()));
        };
    }

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

    /** model-runner's routes that load, unload or configure: an admin's. */
    private static boolean changesTheCluster(HttpRequest request, String path) {
        boolean post = request.method().equals(HttpMethods.POST);
        boolean delete = request.method().equals(HttpMethods.DELETE);
        String p = path.startsWith("/exp/vDD4.40") ? path.substring("/exp/vDD4.40".length()) : path;
        return (post && (p.equals("/engines/unload") || p.endsWith("/_configure") || p.startsWith("/models")
                || p.equals("/api/pull"))) || (delete && (p.startsWith("/models") || p.equals("/api/delete")));
    }

    private static CompletionStage<HttpResponse> refuse(boolean anthropic, int status, String code, String message) {
        HttpResponse r = OpenAiErrors.error(status, status == 401 ? "invalid_request_error" : "permission_error", code, message);
        if (status == 401) {
            r = r.addHeader(RawHeader.create("WWW-Authenticate", "Bearer"));
        }
        return CompletableFuture.completedFuture(anthropic ? OpenAiErrors.asAnthropic(r) : r);
    }
}
