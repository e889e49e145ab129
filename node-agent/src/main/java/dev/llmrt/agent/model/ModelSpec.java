package dev.llmrt.agent.model;

import dev.llmrt.agent.CborSerializable;
import dev.llmrt.runtime.spi.BackendConfiguration;

/**
 * A model the cluster can serve: the name clients use, the backend that runs it, the model's
 * identity for that backend (a GGUF path, a directory, or a sim name), and how to run it.
 *
 * @param keepAliveMillis idle time before its runner is unloaded; 0 right after the last request,
 *                        negative never
 */
public record ModelSpec(String name, String backend, String model, BackendConfiguration config,
                        long keepAliveMillis) implements CborSerializable {}
