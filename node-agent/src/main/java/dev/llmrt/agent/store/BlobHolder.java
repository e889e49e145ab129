package dev.llmrt.agent.store;

import dev.llmrt.agent.CborSerializable;

/**
 * A node that holds a blob and serves it to its peers at {@code access.url()/store/blobs/{digest}};
 * shared through Distributed Data ({@link StoredModels#HOLDERS}) so that a node lacking a model's file
 * fetches it from a peer before its registry.
 */
public record BlobHolder(String digest, String node, PeerAccess access) implements CborSerializable {
    /** The key of this entry in the cluster's map: one per blob and node. */
    public String key() {
        return digest + " " + node;
    }
}
