package dev.llmrt.gateway;

import dev.llmrt.gateway.security.ApiKeys;
import dev.llmrt.gateway.security.KeyCheck;
import dev.llmrt.runtime.spi.Inference;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The OpenAI request a translating route (Ollama's, the Responses API) sends through the gateway's
 * own path: it carries the client's identity (user agent, request id, origin) and API key, so the
 * request id, the origin label and the key's model check apply to the translation as to the client.
 */
public final class Forwarded {
    private Forwarded() {}

    /** @param defaultOrigin the origin when the client sent none (model-runner's for the API), or null */
    public static HttpRequest request(HttpRequest original, String path, String json, String defaultOrigin) {
        HttpRequest request = HttpRequest.POST(path).withEntity(ContentTypes.APPLICATION_JSON, json);
        for (String name : List.of("User-Agent", "X-Request-Id", Inference.REQUEST_ORIGIN_HEADER)) {
            Optional<String> value = original.getHeader(name).map(HttpHeader::value);
            if (value.isEmpty() && name.equals(Inference.REQUEST_ORIGIN_HEADER)) {
                value = Optional.ofNullable(defaultOrigin);
            }
            if (value.isPresent()) {
                request = request.addHeader(RawHeader.create(name, value.get()));
            }
        }
        Optional<ApiKeys.Key> key = original.getAttribute(KeyCheck.KEY);
        return key.isPresent() ? request.addAttribute(KeyCheck.KEY, key.get()) : request;
    }
}
