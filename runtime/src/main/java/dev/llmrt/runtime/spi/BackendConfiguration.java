package dev.llmrt.runtime.spi;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Optional;

/**
 * How a model is run (Go: {@code BackendConfiguration}). JSON keys are {@code context-size},
 * {@code runtime-flags} and {@code speculative}; like Go's {@code omitempty}, absent values are omitted.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record BackendConfiguration(
        @JsonProperty("context-size") Long contextSize,
        @JsonProperty("runtime-flags") List<String> runtimeFlags,
        @JsonProperty("speculative") SpeculativeDecodingConfig speculative) {

    public static final BackendConfiguration EMPTY = new BackendConfiguration(null, List.of(), null);

    public BackendConfiguration {
        runtimeFlags = runtimeFlags == null ? List.of() : List.copyOf(runtimeFlags);
    }

    /** The configured context size, when one was set (model-runner treats 0 as unset). */
    public Optional<Long> configuredContextSize() {
        return contextSize == null || contextSize == 0 ? Optional.empty() : Optional.of(contextSize);
    }
}
