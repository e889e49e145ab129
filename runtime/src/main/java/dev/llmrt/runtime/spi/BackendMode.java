package dev.llmrt.runtime.spi;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The mode a backend runs a model in (Go: {@code BackendMode}); JSON is the lowercase name. */
public enum BackendMode {
    COMPLETION("completion"),
    EMBEDDING("embedding"),
    RERANKING("reranking");

    private final String wireName;

    BackendMode(String wireName) {
        this.wireName = wireName;
    }

    @JsonValue
    public String wireName() {
        return wireName;
    }

    /** Parses the wire name; anything else is refused (no silent default). */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static BackendMode fromWire(String value) {
        for (BackendMode mode : values()) {
            if (mode.wireName.equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException(
                "unknown backend mode '" + value + "' (expected completion, embedding or reranking)");
    }

    /**
     * The mode an OpenAI-style request path implies, as model-runner decides it: chat, completions
     * and messages run in completion mode, embeddings in embedding mode, rerank/score in reranking.
     */
    public static BackendMode forRequestPath(String path) {
        if (path.endsWith("/embeddings")) {
            return EMBEDDING;
        }
        if (path.endsWith("/rerank") || path.endsWith("/score")) {
            return RERANKING;
        }
        return COMPLETION;
    }

    @Override
    public String toString() {
        return wireName;
    }
}
