package dev.llmrt.gateway.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.runtime.gguf.GgufReader;
import dev.llmrt.runtime.gguf.GgufSummary;
import dev.llmrt.runtime.spi.GgufParseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * What a catalog model is, for the model lists clients read (Ollama's {@code details}, model-runner's
 * {@code dmr}): for a GGUF file on this node, its architecture, parameter count, most common tensor
 * type and size, read from the file's header once per file version; for other models, what is known
 * without a file; for a model pulled from a registry, what its config says. The digest identifies the
 * catalog entry (name and model), not the file's bytes; a pulled model's is its id. One instance per
 * gateway, shared by the routes that list models.
 */
public final class ModelDetails {
    /**
     * @param format       "gguf" or the backend's own
     * @param parameters   e.g. "1.7B", or "" when unknown
     * @param quantization the most common tensor type, e.g. "Q4_K", or "" when unknown
     * @param size         bytes of the file, or 0
     * @param contextSize  the model's trained context length, or 0
     */
    public record Details(String format, String family, String parameters, String quantization, long size,
                          long modifiedAt, long contextSize, String digest) {}

    private record Key(String path, long size, long modified) {}

    private final Map<Key, Details> cache = new ConcurrentHashMap<>();
    private final Map<String, Details> storedCache = new ConcurrentHashMap<>();
    private volatile Function<String, Optional<Stored>> stored = name -> Optional.empty();

    /** What a model pulled from a registry says of itself: its config JSON, file size, creation and id. */
    public record Stored(String id, String config, long size, long created) {}

    /**
     * Where the models pulled from registries are: their details come from their config, the same on
     * every gateway, whether or not this node holds the file.
     */
    public void storedFrom(Function<String, Optional<Stored>> lookup) {
        this.stored = lookup;
    }

    public Details of(ModelSpec spec) {
        Optional<Stored> pulled = stored.apply(spec.name());
        if (pulled.isPresent()) {
            return storedCache.computeIfAbsent(pulled.get().id(), id -> fromConfig(pulled.get()));
        }
        String digest = "sha256:" + sha256(spec.name() + "\n" + spec.model());
        Path file = Path.of(spec.model());
        if (!spec.backend().equals("llama.cpp") || !Files.isRegularFile(file)) {
            return new Details(spec.backend(), "", "", "", 0, 0, 0, digest);
        }
        try {
            long size = Files.size(file);
            long modified = Files.getLastModifiedTime(file).toMillis();
            return cache.computeIfAbsent(new Key(file.toString(), size, modified), k -> read(file, size, modified, digest));
        } catch (IOException e) {
            return new Details("gguf", "", "", "", 0, 0, 0, digest);
        }
    }

    private static Details fromConfig(Stored m) {
        try {
            JsonNode c = CONFIG_JSON.readTree(m.config()).path("config");
            return new Details(c.path("format").asText("gguf"), c.path("architecture").asText(""), c.path("parameters").asText(""),
                    c.path("quantization").asText(""), m.size(), m.created() * 1000, c.path("context_size").asLong(0), m.id());
        } catch (IOException e) {
            return new Details("gguf", "", "", "", m.size(), m.created() * 1000, 0, m.id());
        }
    }

    private static final ObjectMapper CONFIG_JSON = new ObjectMapper();

    private static Details read(Path file, long size, long modified, String digest) {
        try {
            GgufSummary g = GgufSummary.of(GgufReader.read(file));
            return new Details("gguf", g.architecture(), g.parameters(), g.quantization(), size, modified,
                    g.contextLength(), digest);
        } catch (GgufParseException | RuntimeException e) {
            return new Details("gguf", "", "", "", size, modified, 0, digest);
        }
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
