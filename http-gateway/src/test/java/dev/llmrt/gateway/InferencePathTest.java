package dev.llmrt.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class InferencePathTest {

    @Test
    void parsesEveryPrefixForm() {
        assertEquals(new InferencePath(null, "/v1/chat/completions"), InferencePath.parse("/v1/chat/completions").orElseThrow());
        assertEquals(new InferencePath(null, "/v1/embeddings"), InferencePath.parse("/engines/v1/embeddings").orElseThrow());
        assertEquals(new InferencePath("llama.cpp", "/v1/completions"),
                InferencePath.parse("/engines/llama.cpp/v1/completions").orElseThrow());
        assertEquals(new InferencePath("sim", "/v1/models"), InferencePath.parse("/exp/vDD4.40/engines/sim/v1/models").orElseThrow());
        assertEquals(new InferencePath(null, "/rerank"), InferencePath.parse("/engines/rerank").orElseThrow());
        assertEquals(new InferencePath("vllm", "/score"), InferencePath.parse("/engines/vllm/score").orElseThrow());
        assertEquals(Optional.of("ai/smollm2"), InferencePath.parse("/v1/models/ai/smollm2").orElseThrow().modelId());
    }

    @Test
    void refusesOtherPaths() {
        assertTrue(InferencePath.parse("/").isEmpty());
        assertTrue(InferencePath.parse("/engines").isEmpty());
        assertTrue(InferencePath.parse("/engines/sim").isEmpty());
        assertTrue(InferencePath.parse("/exp/vDD4.40/v1/chat/completions").isEmpty(), "the prefix only fronts /engines");
        assertTrue(InferencePath.parse("/models").isEmpty());
        assertTrue(!InferencePath.parse("/v1/files").orElseThrow().isInference());
    }

    private static String model(String json) throws IOException {
        return RequestPeek.model(new JsonFactory(), json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void peeksTheTopLevelModelOnly() throws IOException {
        assertEquals("m", model("{\"messages\":[{\"model\":\"inner\"}],\"model\":\"m\",\"x\":{\"model\":1}}"));
        assertNull(model("{\"messages\":[]}"));
        assertThrows(RequestPeek.Invalid.class, () -> model("{\"model\":42}"), "a model that isn't a string is named as wrong");
    }

    @Test
    void malformedOrNonObjectBodiesAreRefused() {
        assertThrows(RequestPeek.NotAnObject.class, () -> model("[1]"));
        assertThrows(RequestPeek.NotAnObject.class, () -> model("\"model\""));
        assertThrows(IOException.class, () -> model("{\"model\":\"m\","));
        assertThrows(IOException.class, () -> model("{\"model\":\"m\"} {}"));
        assertThrows(IOException.class, () -> model(""));
    }
}
