package dev.llmrt.runtime.spi;

/** Route prefixes and header constants of model-runner's {@code pkg/inference}. */
public final class Inference {
    /** Prefix of inference routes ({@code InferencePrefix}). */
    public static final String INFERENCE_PREFIX = "/engines";
    /** Prefix of model-management routes ({@code ModelsPrefix}). */
    public static final String MODELS_PREFIX = "/models";
    /** Prefix clients on the Docker socket put before {@code /engines} routes ({@code ExperimentalEndpointsPrefix}). */
    public static final String EXPERIMENTAL_ENDPOINTS_PREFIX = "/exp/vDD4.40";
    /** Header naming where an inference request came from ({@code RequestOriginHeader}). */
    public static final String REQUEST_ORIGIN_HEADER = "X-Request-Origin";
    /** Origin value for requests that came through the Ollama layer ({@code OriginOllamaCompletion}). */
    public static final String ORIGIN_OLLAMA_COMPLETION = "ollama/completion";
    /** model-runner's origin for requests that came through Anthropic's Messages API. */
    public static final String ORIGIN_ANTHROPIC_MESSAGES = "anthropic/messages";

    private Inference() {}
}
