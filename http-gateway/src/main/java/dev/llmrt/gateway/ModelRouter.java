package dev.llmrt.gateway;

import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.runtime.spi.BackendMode;
import java.util.concurrent.CompletionStage;

/** Where the gateway sends an inference request: to a replica of the model, wherever it lives. */
public interface ModelRouter {
    /**
     * @param affinity a client's key (a header or OpenAI's {@code user}) that keeps it on one replica
     *                 while that replica is healthy; null for none
     */
    CompletionStage<Routed> route(String model, BackendMode mode, InferenceProtocol.Request request, String affinity);
}
