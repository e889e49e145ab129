package dev.llmrt.gateway;

import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.runtime.spi.BackendMode;
import java.util.concurrent.CompletionStage;

/** Where the gateway sends an inference request: to whichever actor owns the model. */
public interface ModelRouter {
    CompletionStage<InferenceProtocol.Reply> route(String model, BackendMode mode, InferenceProtocol.Request request);
}
