package dev.llmrt.gateway.security;

import com.typesafe.config.Config;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The API keys a gateway accepts, from {@code llmrt.gateway.api-keys}: each stored as the SHA-256 of
 * a random key (a slow hash is for guessable secrets; these are not), with the models it may use (all
 * when none are listed) and whether it may change the cluster. No keys configured: keys are off.
 */
public final class ApiKeys {
    /** A configured key, without the key itself. */
    public record Key(String name, byte[] sha256, Set<String> models, boolean admin) {
        public boolean mayUse(String model) {
            return models.isEmpty() || models.contains(model);
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    private final Map<String, Key> byHash = new HashMap<>();

    public ApiKeys(List<Key> keys) {
        keys.forEach(k -> byHash.put(HexFormat.of().formatHex(k.sha256()), k));
    }

    /** {@code llmrt.gateway.api-keys = [{name, sha256, models = [...], admin = false}]}. */
    public static ApiKeys fromConfig(Config gateway) {
        List<Key> keys = gateway.getConfigList("api-keys").stream().map(c -> {
            String hex = c.getString("sha256").trim().toLowerCase();
            if (!hex.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("llmrt.gateway.api-keys entry '" + c.getString("name")
                        + "': sha256 must be 64 hex digits (llmrt keys create prints it)");
            }
            return new Key(c.getString("name"), HexFormat.of().parseHex(hex),
                    Set.copyOf(c.hasPath("models") ? c.getStringList("models") : List.of()),
                    c.hasPath("admin") && c.getBoolean("admin"));
        }).toList();
        return new ApiKeys(keys);
    }

    public boolean enabled() {
        return !byHash.isEmpty();
    }

    /** The key a client presented, if it is one of ours (compared in constant time). */
    public Optional<Key> find(String presented) {
        byte[] hash = sha256(presented);
        Key k = byHash.get(HexFormat.of().formatHex(hash));
        return k != null && MessageDigest.isEqual(k.sha256(), hash) ? Optional.of(k) : Optional.empty();
    }

    /** A new random key: {@code llmrt-} and 32 random bytes, URL-safe. */
    public static String newKey() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return "llmrt-" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
