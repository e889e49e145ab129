package dev.llmrt.gateway.security;

import dev.llmrt.agent.CborSerializable;
import java.util.List;

/**
 * An API key made through {@code POST /keys} ({@code llmrt keys create}), as the cluster keeps it:
 * its SHA-256, never the key. Shared through Distributed Data, so a key made or revoked through one
 * gateway holds on every gateway without a restart.
 *
 * @param models        the models it may use (all when empty)
 * @param rpm           requests per minute (0: no limit)
 * @param tpm           tokens per minute (0: no limit)
 * @param maxConcurrent requests at once (0: no limit)
 * @param maxStreams    streamed responses at once (0: no limit)
 * @param created       seconds since the epoch
 */
public record StoredKey(String name, String sha256, List<String> models, boolean admin, int rpm, long tpm,
                        int maxConcurrent, int maxStreams, long created) implements CborSerializable {}
