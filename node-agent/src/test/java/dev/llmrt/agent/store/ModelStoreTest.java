package dev.llmrt.agent.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The content store keeps only blobs that hash to their digest, and nothing half-written. */
class ModelStoreTest {

    @Test
    void storesABlobThatMatchesItsDigestAndRefusesOneThatDoesNot(@TempDir Path dir) throws Exception {
        ModelStore store = new ModelStore(dir);
        byte[] bytes = "weights".getBytes(StandardCharsets.UTF_8);
        String digest = Digests.sha256(bytes);
        Path stored = store.write(digest, bytes.length, new ByteArrayInputStream(bytes), n -> {});
        assertTrue(store.has(digest));
        assertEquals("weights", Files.readString(stored));

        byte[] other = "tampered".getBytes(StandardCharsets.UTF_8);
        String wanted = Digests.sha256("original".getBytes(StandardCharsets.UTF_8));
        ModelStore.DigestMismatch e = assertThrows(ModelStore.DigestMismatch.class,
                () -> store.write(wanted, other.length, new ByteArrayInputStream(other), n -> {}));
        assertTrue(e.getMessage().contains(wanted), e.getMessage());
        assertFalse(store.has(wanted));
        assertThrows(ModelStore.DigestMismatch.class, () -> store.write(digest, bytes.length + 1, new ByteArrayInputStream(bytes), n -> {}),
                "the right bytes but not as many as declared");
        try (Stream<Path> tmp = Files.list(dir.resolve("tmp"))) {
            assertEquals(List.of(), tmp.toList(), "nothing half-written is left");
        }
    }

    @Test
    void keepsTheClusterModelsAcrossARestart(@TempDir Path dir) throws Exception {
        StoredModel m = new StoredModel("ai/m:latest", "docker.io/ai/m@sha256:" + "b".repeat(64), "sha256:" + "b".repeat(64), "{}",
                "{}", "sha256:" + "c".repeat(64), 10, 4, 1);
        StoredEntry model = StoredEntry.of(m, null);
        StoredEntry tombstone = StoredEntry.tombstone(model);
        assertTrue(tombstone.writtenAt() > model.writtenAt(), "a tombstone is newer than what it replaces");
        Map<String, StoredEntry> saved = Map.of(m.reference(), model, "ai/gone:latest", tombstone);
        new ModelStore(dir).saveModels(saved);
        assertEquals(saved, new ModelStore(dir).loadModels(), "models and tombstones, with when they were written");
    }

    @Test
    void readsACopySavedBeforeTombstonesAsModelsWrittenWhenCreated(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("models.json"), "{\"ai/m:latest\":{\"reference\":\"ai/m:latest\",\"source\":\"s\","
                + "\"manifestDigest\":\"sha256:b\",\"manifest\":\"{}\",\"config\":\"{}\",\"ggufDigest\":\"sha256:c\","
                + "\"ggufSize\":10,\"headerBytes\":4,\"created\":1700000000}}");
        StoredEntry e = new ModelStore(dir).loadModels().get("ai/m:latest");
        assertEquals("sha256:c", e.model().ggufDigest());
        assertEquals(1_700_000_000_000L, e.writtenAt());
    }

    @Test
    void findsTheGgufLayerAndRefusesWhatIsNotAModel() throws Exception {
        String config = "sha256:" + "1".repeat(64);
        String gguf = "sha256:" + "2".repeat(64);
        String manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + ModelArtifact.MANIFEST_OCI + "\",\"config\":{\"mediaType\":\""
                + ModelArtifact.CONFIG_V01 + "\",\"digest\":\"" + config + "\",\"size\":2},\"layers\":[{\"mediaType\":\""
                + ModelArtifact.GGUF + "\",\"digest\":\"" + gguf + "\",\"size\":100},{\"mediaType\":\"" + ModelArtifact.LICENSE
                + "\",\"digest\":\"sha256:" + "3".repeat(64) + "\",\"size\":5}]}";
        ModelArtifact.Layers layers = ModelArtifact.layers(manifest.getBytes(StandardCharsets.UTF_8));
        assertEquals(gguf, layers.gguf().digest());
        assertEquals(100, layers.gguf().size());
        String image = manifest.replace(ModelArtifact.CONFIG_V01, "application/vnd.oci.image.config.v1+json");
        ModelArtifact.Unsupported e = assertThrows(ModelArtifact.Unsupported.class,
                () -> ModelArtifact.layers(image.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("application/vnd.oci.image.config.v1+json"), e.getMessage());
        String safetensors = manifest.replace(ModelArtifact.GGUF, "application/vnd.docker.ai.safetensors");
        assertThrows(ModelArtifact.Unsupported.class, () -> ModelArtifact.layers(safetensors.getBytes(StandardCharsets.UTF_8)));
    }
}
