package dev.llmrt.agent.store;

import dev.llmrt.agent.CborSerializable;

/**
 * A model pulled from (or pushed to) an OCI registry, as the whole cluster knows it: one entry per
 * reference, shared through Distributed Data ({@link StoredModels}), so every gateway can route to it
 * and any node can fetch its file: from a peer that holds it, else from {@code source}.
 *
 * @param reference      the reference clients use, familiar form ({@code ai/smollm2:latest})
 * @param source         the reference its blobs can be fetched from in a registry (full form)
 * @param manifestDigest the digest of its manifest: model-runner's model id
 * @param manifest       the manifest as the registry served it
 * @param config         its config blob (model-runner's config JSON: format, parameters, ...)
 * @param ggufDigest     the digest of its GGUF layer: the file the runner loads
 * @param ggufSize       that file's size in bytes
 * @param headerBytes    how many bytes at the start of that file hold its GGUF header (what memory
 *                       estimates read), so a node can fetch just those before it holds the file
 * @param created        when it was created (seconds since the epoch)
 */
public record StoredModel(String reference, String source, String manifestDigest, String manifest, String config,
                          String ggufDigest, long ggufSize, long headerBytes, long created) implements CborSerializable {

    /** model-runner's id of a model: its manifest digest. */
    public String id() {
        return manifestDigest;
    }

    /** The same model under another reference. */
    public StoredModel as(String otherReference) {
        return new StoredModel(otherReference, source, manifestDigest, manifest, config, ggufDigest, ggufSize, headerBytes, created);
    }
}
