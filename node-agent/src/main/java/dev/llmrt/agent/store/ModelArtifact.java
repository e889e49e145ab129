package dev.llmrt.agent.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.runtime.gguf.GgufFile;
import dev.llmrt.runtime.gguf.GgufReader;
import dev.llmrt.runtime.gguf.GgufSummary;
import dev.llmrt.runtime.spi.GgufParseException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;

/**
 * A model as an OCI artifact, in model-runner's media types so that its artifacts and ours are
 * interchangeable: an OCI image manifest whose config is model-runner's model config JSON and whose
 * layer is the GGUF file.
 */
public final class ModelArtifact {
    public static final String MANIFEST_OCI = "application/vnd.oci.image.manifest.v1+json";
    public static final String MANIFEST_DOCKER = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String CONFIG_V01 = "application/vnd.docker.ai.model.config.v0.1+json";
    public static final String CONFIG_V02 = "application/vnd.docker.ai.model.config.v0.2+json";
    public static final String GGUF = "application/vnd.docker.ai.gguf.v3";
    public static final String LICENSE = "application/vnd.docker.ai.license";
    public static final String CHAT_TEMPLATE = "application/vnd.docker.ai.chat.template.jinja";
    public static final String MMPROJ = "application/vnd.docker.ai.mmproj";
    /** Layers a GGUF model may carry besides its weights; they are kept in the manifest, not loaded. */
    private static final Set<String> EXTRA_LAYERS = Set.of(LICENSE, CHAT_TEMPLATE, MMPROJ);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A blob to upload: its digest, size and media type. */
    public record Blob(String mediaType, String digest, long size) {}

    /** What a pushed artifact is made of: its config and manifest bytes, and the GGUF layer. */
    public record Built(byte[] config, byte[] manifest, Blob configBlob, Blob gguf, long headerBytes) {
        public String manifestDigest() {
            return Digests.sha256(manifest);
        }
    }

    /** The layers of a manifest that this service runs: the GGUF layer, found by media type. */
    public record Layers(Blob config, Blob gguf) {}

    /** Why an artifact can't be used (model-runner answers 422 for an unsupported config type). */
    public static final class Unsupported extends Exception {
        public Unsupported(String message) {
            super(message);
        }
    }

    private ModelArtifact() {}

    /** Builds the artifact of a GGUF file: reads its header for the config, hashes the file. */
    public static Built fromGguf(Path file) throws IOException, GgufParseException {
        GgufFile gguf = GgufReader.read(file);
        GgufSummary summary = GgufSummary.of(gguf);
        Digests.Hashed hashed = Digests.sha256(file);
        ObjectNode root = JSON.createObjectNode();
        ObjectNode config = root.putObject("config");
        config.put("format", "gguf");
        config.put("quantization", summary.quantization());
        config.put("parameters", summary.parameters());
        config.put("architecture", summary.architecture());
        config.put("size", GgufSummary.size(hashed.size()));
        ObjectNode ggufMeta = config.putObject("gguf");
        gguf.metadata().forEach((k, v) -> {
            if (!(v instanceof GgufFile.GgufArray)) {
                ggufMeta.put(k, String.valueOf(v));
            }
        });
        if (summary.contextLength() > 0 && summary.contextLength() <= Integer.MAX_VALUE) {
            config.put("context_size", summary.contextLength());
        }
        root.putObject("descriptor").put("created", Instant.now().toString());
        ObjectNode rootfs = root.putObject("rootfs");
        rootfs.put("type", "layers");
        rootfs.putArray("diff_ids").add(hashed.digest());
        byte[] configBytes = JSON.writeValueAsBytes(root);
        Blob configBlob = new Blob(CONFIG_V01, Digests.sha256(configBytes), configBytes.length);
        Blob layer = new Blob(GGUF, hashed.digest(), hashed.size());
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", MANIFEST_OCI);
        manifest.set("config", descriptor(configBlob));
        manifest.putArray("layers").add(descriptor(layer));
        return new Built(configBytes, JSON.writeValueAsBytes(manifest), configBlob, layer, gguf.dataOffset());
    }

    private static ObjectNode descriptor(Blob b) {
        ObjectNode d = JSON.createObjectNode();
        d.put("mediaType", b.mediaType());
        d.put("digest", b.digest());
        d.put("size", b.size());
        return d;
    }

    /** The config and the GGUF layer of a manifest, or why it isn't a model this service can run. */
    public static Layers layers(byte[] manifest) throws Unsupported {
        JsonNode m;
        try {
            m = JSON.readTree(manifest);
        } catch (IOException e) {
            throw new Unsupported("the manifest is not JSON: " + e.getMessage());
        }
        JsonNode config = m.path("config");
        String configType = config.path("mediaType").asText("");
        if (!configType.equals(CONFIG_V01) && !configType.equals(CONFIG_V02)) {
            throw new Unsupported("unsupported media type '" + configType + "' for the model config (supported: "
                    + CONFIG_V01 + ", " + CONFIG_V02 + "); is this a container image rather than a model?");
        }
        Blob gguf = null;
        for (JsonNode layer : m.path("layers") instanceof ArrayNode a ? a : JSON.createArrayNode()) {
            String type = layer.path("mediaType").asText("");
            if (type.equals(GGUF)) {
                if (gguf != null) {
                    throw new Unsupported("models split over several GGUF files are not supported yet");
                }
                gguf = blob(layer);
            } else if (!EXTRA_LAYERS.contains(type)) {
                throw new Unsupported("unsupported layer media type '" + type + "' (this service runs GGUF models: " + GGUF + ")");
            }
        }
        if (gguf == null) {
            throw new Unsupported("the model has no GGUF layer (" + GGUF + ")");
        }
        return new Layers(blob(config), gguf);
    }

    private static Blob blob(JsonNode d) throws Unsupported {
        String digest = d.path("digest").asText("");
        if (!Digests.isSha256(digest)) {
            throw new Unsupported("unsupported digest '" + digest + "' (sha256 only)");
        }
        return new Blob(d.path("mediaType").asText(), digest, d.path("size").asLong(-1));
    }

    /** The creation time a config records, in seconds (0 when it has none). */
    public static long created(byte[] config) {
        try {
            String t = JSON.readTree(config).at("/descriptor/created").asText("");
            return t.isEmpty() ? 0 : Instant.parse(t).getEpochSecond();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
