package dev.llmrt.agent.store;

import dev.llmrt.agent.CborSerializable;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * How a node's peers fetch its blobs: its HTTP(S) address, the token its blob route asks for, and,
 * over HTTPS, the SHA-256 of its certificate (peers pin it). Shared only inside the cluster, through
 * Distributed Data, so that a client outside it can't read a model's file even by its digest.
 *
 * @param url        {@code http://host:port} or {@code https://host:port}
 * @param token      a random token made when the node starts
 * @param certSha256 hex SHA-256 of the node's leaf certificate (DER), or empty over HTTP
 */
public record PeerAccess(String url, String token, String certSha256) implements CborSerializable {
    public static final PeerAccess NONE = new PeerAccess("", "", "");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** 256 random bits, URL-safe base64. */
    public static String newToken() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    public boolean https() {
        return url.startsWith("https://");
    }
}
