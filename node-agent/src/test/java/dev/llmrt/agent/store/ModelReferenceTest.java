package dev.llmrt.agent.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** References normalised as model-runner's distribution client does (its normalize_test cases). */
class ModelReferenceTest {

    @Test
    void normalisesAsModelRunnerDoes() {
        String[][] cases = {
                {"smollm2", "docker.io/ai/smollm2:latest", "ai/smollm2:latest"},
                {"gemma3:v1", "docker.io/ai/gemma3:v1", "ai/gemma3:v1"},
                {"myorg/model", "docker.io/myorg/model:latest", "myorg/model:latest"},
                {"ai/gemma3:latest", "docker.io/ai/gemma3:latest", "ai/gemma3:latest"},
                {"registry.example.com/model", "registry.example.com/model:latest", "registry.example.com/model:latest"},
                {"registry.example.com/myorg/model:v1", "registry.example.com/myorg/model:v1", "registry.example.com/myorg/model:v1"},
                {"  gemma3  ", "docker.io/ai/gemma3:latest", "ai/gemma3:latest"},
                {"model:", "docker.io/ai/model:latest", "ai/model:latest"},
                {"MyModel", "docker.io/ai/mymodel:latest", "ai/mymodel:latest"},
                {"localhost:5000/team/tiny:1", "localhost:5000/team/tiny:1", "localhost:5000/team/tiny:1"},
                {"127.0.0.1:5000/tiny", "127.0.0.1:5000/tiny:latest", "127.0.0.1:5000/tiny:latest"},
        };
        for (String[] c : cases) {
            ModelReference r = ModelReference.parse(c[0]);
            assertEquals(c[1], r.full(), c[0]);
            assertEquals(c[2], r.familiar(), c[0]);
        }
        String digest = "sha256:" + "a".repeat(64);
        assertEquals("docker.io/ai/m@" + digest, ModelReference.parse("m@" + digest).full());
        assertEquals(digest, ModelReference.parse("m@" + digest).manifestName());
    }

    @Test
    void plainHttpOnlyForLoopbackAndLocalRegistries() {
        assertTrue(ModelReference.parse("localhost:5000/a/b").plainHttp());
        assertTrue(ModelReference.parse("127.0.0.1:5000/a/b").plainHttp());
        assertTrue(ModelReference.parse("registry.local/a/b").plainHttp());
        assertFalse(ModelReference.parse("registry.example.com/a/b").plainHttp());
        assertFalse(ModelReference.parse("ai/smollm2").plainHttp());
        assertEquals("registry-1.docker.io", ModelReference.parse("ai/smollm2").apiHost());
    }

    @Test
    void refusesMalformedReferences() {
        for (String bad : new String[] {"", "   ", "a b", "UP/per!", "a//b", "x:bad tag", "m@sha256:123", "-lead/x", "a/" + "b".repeat(600)}) {
            assertThrows(ModelReference.InvalidReference.class, () -> ModelReference.parse(bad), bad);
            assertTrue(ModelReference.tryParse(bad).isEmpty(), bad);
        }
    }
}
