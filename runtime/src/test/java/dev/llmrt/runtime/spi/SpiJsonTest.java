package dev.llmrt.runtime.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The SPI's JSON forms are model-runner's: same keys, lowercase modes, nothing unknown accepted. */
class SpiJsonTest {
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void modesAreLowercaseStrings() throws Exception {
        assertEquals("\"completion\"", json.writeValueAsString(BackendMode.COMPLETION));
        assertEquals("\"embedding\"", json.writeValueAsString(BackendMode.EMBEDDING));
        assertEquals("\"reranking\"", json.writeValueAsString(BackendMode.RERANKING));
        for (BackendMode mode : BackendMode.values()) {
            assertEquals(mode, json.readValue(json.writeValueAsString(mode), BackendMode.class));
        }
    }

    @Test
    void unknownModeIsRejected() {
        ValueInstantiationException e = assertThrows(ValueInstantiationException.class,
                () -> json.readValue("\"chat\"", BackendMode.class));
        assertTrue(e.getMessage().contains("unknown backend mode 'chat'"), e.getMessage());
        assertThrows(Exception.class, () -> json.readValue("\"Completion\"", BackendMode.class));
        assertThrows(Exception.class, () -> json.readValue("0", BackendMode.class));
    }

    @Test
    void modeFollowsTheRequestPath() {
        assertEquals(BackendMode.COMPLETION, BackendMode.forRequestPath("/v1/chat/completions"));
        assertEquals(BackendMode.COMPLETION, BackendMode.forRequestPath("/v1/completions"));
        assertEquals(BackendMode.EMBEDDING, BackendMode.forRequestPath("/v1/embeddings"));
        assertEquals(BackendMode.RERANKING, BackendMode.forRequestPath("/rerank"));
        assertEquals(BackendMode.RERANKING, BackendMode.forRequestPath("/score"));
    }

    @Test
    void configurationUsesModelRunnerKeysAndRoundTrips() throws Exception {
        BackendConfiguration config = new BackendConfiguration(8192L, List.of("--threads", "4"),
                new SpeculativeDecodingConfig("ai/draft", 8, 0.75));
        String text = json.writeValueAsString(config);
        assertEquals("{\"context-size\":8192,\"runtime-flags\":[\"--threads\",\"4\"],"
                + "\"speculative\":{\"draft_model\":\"ai/draft\",\"num_tokens\":8,\"min_acceptance_rate\":0.75}}", text);
        assertEquals(config, json.readValue(text, BackendConfiguration.class));
    }

    @Test
    void emptyConfigurationOmitsEverythingLikeGoOmitempty() throws Exception {
        assertEquals("{}", json.writeValueAsString(BackendConfiguration.EMPTY));
        BackendConfiguration parsed = json.readValue("{}", BackendConfiguration.class);
        assertEquals(List.of(), parsed.runtimeFlags());
        assertTrue(parsed.configuredContextSize().isEmpty());
        assertTrue(json.readValue("{\"context-size\":0}", BackendConfiguration.class).configuredContextSize().isEmpty());
    }

    @Test
    void unknownConfigurationKeysAreRejected() {
        // a typo such as context_size must not silently fall back to the model's default
        assertThrows(UnrecognizedPropertyException.class,
                () -> json.readValue("{\"context_size\":4096}", BackendConfiguration.class));
        assertThrows(UnrecognizedPropertyException.class,
                () -> json.readValue("{\"speculative\":{\"draft\":\"x\"}}", BackendConfiguration.class));
    }

    @Test
    void requiredMemoryIsBytesAndNeverNegative() throws Exception {
        RequiredMemory m = new RequiredMemory(1L << 30, 5L << 30);
        assertEquals(m, json.readValue(json.writeValueAsString(m), RequiredMemory.class));
        assertThrows(IllegalArgumentException.class, () -> new RequiredMemory(-1, 0));
    }

    @Test
    void constantsMatchTheSeed() {
        assertEquals("/engines", Inference.INFERENCE_PREFIX);
        assertEquals("/models", Inference.MODELS_PREFIX);
        assertEquals("/exp/vDD4.40", Inference.EXPERIMENTAL_ENDPOINTS_PREFIX);
        assertEquals("X-Request-Origin", Inference.REQUEST_ORIGIN_HEADER);
        assertEquals("ollama/completion", Inference.ORIGIN_OLLAMA_COMPLETION);
        assertTrue(new GgufParseException("bad magic").getMessage().contains("bad magic"));
    }
}
