package dev.llmrt.runtime.spi;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** Speculative decoding settings (Go: {@code SpeculativeDecodingConfig}), JSON keys as model-runner writes them. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SpeculativeDecodingConfig(
        @JsonProperty("draft_model") String draftModel,
        @JsonProperty("num_tokens") Integer numTokens,
        @JsonProperty("min_acceptance_rate") Double minAcceptanceRate) {}
