package dev.llmrt.gateway.models;

import dev.llmrt.agent.store.Digests;
import dev.llmrt.agent.store.ModelStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.FileIO;

/**
 * {@code GET /store/blobs/{digest}}: the blobs this node holds, for its peers only. A request must
 * carry this node's token ({@code Authorization: Bearer}), which peers learn through Distributed Data
 * and nobody outside the cluster sees; without it the answer is 401, whether or not the blob is here.
 * A whole blob is read in 1 MiB chunks (file serving's 8 KiB default halves a peer's transfer rate);
 * a {@code Range} request (a peer reading just a GGUF header) is served by Pekko's file directive.
 * Served on every node, agent-only ones too.
 */
public final class BlobRoutes extends AllDirectives {
    private static final int CHUNK = 1 << 20;
    private final ModelStore store;
    private final byte[] expected;

    /** @param token what peers must present (this node's {@code PeerAccess.token()}) */
    public BlobRoutes(ModelStore store, String token) {
        this.store = store;
        this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    public Route route() {
        return pathPrefix("store", () -> pathPrefix("blobs", () -> path(digest -> get(() ->
                optionalHeaderValueByName("Authorization", presented -> {
                    if (!fromPeer(presented)) {
                        return complete(StatusCodes.UNAUTHORIZED, "blobs are served to this cluster's nodes only");
                    }
                    if (!Digests.isSha256(digest) || !store.has(digest)) {
                        return complete(StatusCodes.NOT_FOUND, "no such blob on this node");
                    }
                    Path file = store.blob(digest);
                    return optionalHeaderValueByName("Range", range -> range.isPresent()
                            ? getFromFile(file.toFile(), ContentTypes.APPLICATION_OCTET_STREAM)
                            : complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM,
                                    file.toFile().length(), FileIO.fromPath(file, CHUNK)))));
                })))));
    }

    private boolean fromPeer(Optional<String> presented) {
        return presented.isPresent() && MessageDigest.isEqual(presented.get().getBytes(StandardCharsets.UTF_8), expected);
    }
}
