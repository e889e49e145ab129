package dev.llmrt.gateway.security;

import com.typesafe.config.Config;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The API keys gateways accept: those in {@code llmrt.gateway.api-keys}, and those made through
 * {@code POST /keys} that the cluster shares ({@link StoredKey}, applied by {@link #clusterChanged}).
 * Each is stored as the SHA-256 of a random key (a slow hash is for guessable secrets; these are
 * not), with the models it may use (all when none are listed), whether it may change the cluster,
 * and its limits.
 *
 * <p>Keys fail closed. Once any key existed on this node, configured or made, a mark in the node's
 * state directory says so ({@link Memory}), and from then on keys stay required: no restart, no
 * unreadable state, no revoke of the last key turns them off. Until the cluster's keys have been
 * read from the node's durable state ({@link #clusterRead}), only configured keys are known and
 * other callers get a 503 rather than an open door. No key ever, and no mark: keys are off (the
 * embedded default on loopback).
 */
public final class ApiKeys {
    /** Per-key limits, each 0 when there is none; shared across gateways by {@link KeyLimiter}. */
    public record Limits(int rpm, long tpm, int maxConcurrent, int maxStreams) {
        public static final Limits NONE = new Limits(0, 0, 0, 0);

        public boolean any() {
            return rpm > 0 || tpm > 0 || maxConcurrent > 0 || maxStreams > 0;
        }
    }

    /** A key, without the key itself. {@code source}: "config" or "cluster". */
    public record Key(String name, byte[] sha256, Set<String> models, boolean admin, Limits limits, String source,
                      long created) {
        public Key(String name, byte[] sha256, Set<String> models, boolean admin) {
            this(name, sha256, models, admin, Limits.NONE, "config", 0);
        }

        public boolean mayUse(String model) {
            return models.isEmpty() || models.contains(model);
        }
    }

    /** Where a node remembers, across restarts, that keys were on. */
    public interface Memory {
        boolean keysWereOn();

        void keysAreOn();

        Memory NONE = new Memory() {
            @Override
            public boolean keysWereOn() {
                return false;
            }

            @Override
            public void keysAreOn() {}
        };
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    private final List<Key> configured;
    private volatile Map<String, Key> byHash;
    private volatile Memory memory = Memory.NONE;
    private volatile boolean wereOn;
    /** The cluster's keys were read (from this node's durable state, then by gossip): until then, unknown. */
    private volatile boolean clusterRead = true;
    private final java.util.concurrent.CompletableFuture<Void> read = new java.util.concurrent.CompletableFuture<>();

    public ApiKeys(List<Key> keys) {
        this.configured = List.copyOf(keys);
        this.byHash = index(configured, List.of());
    }

    /** The cluster's keys are still to be read (from the node's durable state): until then, fail closed. */
    public ApiKeys expectClusterKeys() {
        this.clusterRead = false;
        return this;
    }

    /** Remembers in {@code m} that keys are on, and reads whether they were on before this run. */
    public ApiKeys rememberedIn(Memory m) {
        this.memory = m;
        this.wereOn = m.keysWereOn();
        if (!byHash.isEmpty()) {
            remember();
        }
        return this;
    }

    private void remember() {
        if (!wereOn) {
            wereOn = true;
            memory.keysAreOn();
        }
    }

    /**
     * {@code llmrt.gateway.api-keys = [{name, sha256, models = [...], admin = false, rpm = 0, tpm = 0,
     * max-concurrent = 0, max-streams = 0}]}, and {@code llmrt.gateway.admin-key} (LLMRT_ADMIN_KEY): a
     * key itself, an admin's, named "admin", the way to start a node with keys on without writing a
     * hash in a file.
     */
    public static ApiKeys fromConfig(Config gateway) {
        List<Key> keys = gateway.getConfigList("api-keys").stream().map(c -> {
            String hex = c.getString("sha256").trim().toLowerCase();
            if (!hex.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("llmrt.gateway.api-keys entry '" + c.getString("name")
                        + "': sha256 must be 64 hex digits (llmrt keys create prints it)");
            }
            Limits limits = new Limits(c.hasPath("rpm") ? c.getInt("rpm") : 0, c.hasPath("tpm") ? c.getLong("tpm") : 0,
                    c.hasPath("max-concurrent") ? c.getInt("max-concurrent") : 0,
                    c.hasPath("max-streams") ? c.getInt("max-streams") : 0);
            return new Key(c.getString("name"), HexFormat.of().parseHex(hex),
                    Set.copyOf(c.hasPath("models") ? c.getStringList("models") : List.of()),
                    c.hasPath("admin") && c.getBoolean("admin"), limits, "config", 0);
        }).collect(java.util.stream.Collectors.toCollection(ArrayList::new));
        String adminKey = gateway.hasPath("admin-key") ? gateway.getString("admin-key").trim() : "";
        if (!adminKey.isEmpty()) {
            keys.add(new Key("admin", sha256(adminKey), Set.of(), true, Limits.NONE, "environment", 0));
        }
        return new ApiKeys(keys);
    }

    /** The cluster's keys changed: from now on they are the configured ones plus these. */
    public void clusterChanged(Map<String, StoredKey> stored) {
        List<Key> cluster = stored.values().stream().map(k -> new Key(k.name(), HexFormat.of().parseHex(k.sha256()),
                Set.copyOf(k.models()), k.admin(), new Limits(k.rpm(), k.tpm(), k.maxConcurrent(), k.maxStreams()), "cluster",
                k.created())).toList();
        byHash = index(configured, cluster);
        clusterRead = true;
        read.complete(null);
        if (!byHash.isEmpty()) {
            remember();
        }
    }

    private static Map<String, Key> index(List<Key> configured, List<Key> cluster) {
        Map<String, Key> all = new HashMap<>();
        cluster.forEach(k -> all.put(HexFormat.of().formatHex(k.sha256()), k));
        configured.forEach(k -> all.put(HexFormat.of().formatHex(k.sha256()), k));
        return Map.copyOf(all);
    }

    /** Keys are required: some exist, or did on this node before (they never turn off by themselves). */
    public boolean enabled() {
        return wereOn || !byHash.isEmpty();
    }

    /** Whether the cluster's keys are known yet: until then, a key that isn't configured can't be checked. */
    public boolean clusterRead() {
        return clusterRead;
    }

    /** Completes once the cluster's keys were first read (a gateway binds then, so its first callers don't get 503). */
    public java.util.concurrent.CompletionStage<Void> whenClusterRead() {
        // a read-only view: a caller's timeout on it must not complete the read itself
        return clusterRead ? java.util.concurrent.CompletableFuture.completedFuture(null) : read.minimalCompletionStage();
    }

    /** No key exists (none configured, none made): the first must come from the node itself. */
    public boolean none() {
        return byHash.isEmpty();
    }

    /** Every key, configured and made in the cluster, by name. */
    public List<Key> all() {
        List<Key> all = new ArrayList<>(byHash.values());
        all.sort(Comparator.comparing(Key::name));
        return all;
    }

    /** Whether a key of this name is in the configuration (which the API can't revoke). */
    public boolean configured(String name) {
        return configured.stream().anyMatch(k -> k.name().equals(name));
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
