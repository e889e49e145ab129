package dev.llmrt.gateway;

import dev.llmrt.runtime.spi.Inference;
import java.util.Optional;
import java.util.Set;

/**
 * An inference route, parsed from the forms model-runner serves: {@code /v1/...},
 * {@code /engines/v1/...}, {@code /engines/{backend}/v1/...}, each {@code /engines} form optionally
 * behind {@code /exp/vDD4.40}; and {@code /anthropic/v1/messages[/count_tokens]}.
 *
 * @param backend  the backend named in the path, or null
 * @param endpoint what the backend is asked, e.g. {@code /v1/chat/completions} or {@code /rerank}
 */
public record InferencePath(String backend, String endpoint) {

    /** Anthropic's Messages API, which llama-server (and the sim) serve natively. */
    public static final String MESSAGES = "/v1/messages";

    /** Endpoints a backend serves, as they follow the prefix. */
    public static final Set<String> POST_ENDPOINTS = Set.of("/v1/chat/completions", "/v1/completions",
            "/v1/embeddings", "/rerank", "/v1/rerank", "/score", "/v1/score", MESSAGES, MESSAGES + "/count_tokens");
    /** model-runner's mount of the Messages API for Anthropic clients. */
    private static final String ANTHROPIC_PREFIX = "/anthropic";

    public static Optional<InferencePath> parse(String path) {
        String p = path;
        if (p.startsWith(ANTHROPIC_PREFIX + MESSAGES)) {
            p = p.substring(ANTHROPIC_PREFIX.length());
            return p.equals(MESSAGES) || p.equals(MESSAGES + "/count_tokens") ? Optional.of(new InferencePath(null, p))
                    : Optional.empty();
        }
        if (p.startsWith(Inference.EXPERIMENTAL_ENDPOINTS_PREFIX + Inference.INFERENCE_PREFIX + "/")) {
            p = p.substring(Inference.EXPERIMENTAL_ENDPOINTS_PREFIX.length());
        }
        String backend = null;
        if (p.startsWith(Inference.INFERENCE_PREFIX + "/")) {
            p = p.substring(Inference.INFERENCE_PREFIX.length());
            if (!p.startsWith("/v1/") && !isBareEndpoint(p)) {
                int next = p.indexOf('/', 1);
                if (next < 0) {
                    return Optional.empty();
                }
                backend = p.substring(1, next);
                p = p.substring(next);
            }
        } else if (!p.startsWith("/v1/") && !isBareEndpoint(p)) {
            return Optional.empty();
        }
        return Optional.of(new InferencePath(backend, p));
    }

    private static boolean isBareEndpoint(String p) {
        return p.equals("/rerank") || p.equals("/score");
    }

    public boolean isModelList() {
        return endpoint.equals("/v1/models");
    }

    /** {@code /v1/models/{id}}: the id, if this is that route. */
    public Optional<String> modelId() {
        return endpoint.startsWith("/v1/models/") && endpoint.length() > "/v1/models/".length()
                ? Optional.of(endpoint.substring("/v1/models/".length())) : Optional.empty();
    }

    public boolean isInference() {
        return POST_ENDPOINTS.contains(endpoint);
    }

    /** Anthropic's Messages API: its clients expect Anthropic's error shape. */
    public boolean isAnthropic() {
        return endpoint.startsWith(MESSAGES);
    }
}
