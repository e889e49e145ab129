package dev.llmrt.gateway.models;

import dev.llmrt.agent.store.Digests;
import dev.llmrt.agent.store.ModelStore;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /store/blobs/{digest}}: the blobs this node holds, for its peers (with {@code Range},
 * so a peer can read just a GGUF header). Served on every node, agent-only ones too.
 */
public final class BlobRoutes extends AllDirectives {
    private final ModelStore store;

    public BlobRoutes(ModelStore store) {
        this.store = store;
    }

    public Route route() {
        return pathPrefix("store", () -> pathPrefix("blobs", () -> path(digest -> get(() -> {
            if (!Digests.isSha256(digest) || !store.has(digest)) {
                return complete(StatusCodes.NOT_FOUND, "no such blob on this node");
            }
            return getFromFile(store.blob(digest).toFile(), ContentTypes.APPLICATION_OCTET_STREAM);
        }))));
    }
}
