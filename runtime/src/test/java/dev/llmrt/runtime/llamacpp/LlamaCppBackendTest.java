package dev.llmrt.runtime.llamacpp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.runtime.gguf.TinyLlamaModel;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.GgufParseException;
import dev.llmrt.runtime.spi.SpeculativeDecodingConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaCppBackendTest {
    @TempDir
    Path dir;

    private final LlamaCppBackend backend = new LlamaCppBackend(Optional.of(Path.of("/nonexistent/llama-server")),
            new ProcessRunner.Limits(Duration.ofSeconds(5), 2048), LlamaCppMemoryEstimator.Settings.DEFAULT);

    private Path model() throws Exception {
        Path p = dir.resolve("tiny.gguf");
        Files.write(p, TinyLlamaModel.generate(TinyLlamaModel.Shape.DEFAULT).toBytes());
        return p;
    }

    @Test
    void argumentsFollowModelRunnersOrder() throws Exception {
        Path sock = dir.resolve("r.sock");
        List<String> args = backend.arguments(sock, "/m/model.gguf", "ai/m", BackendMode.COMPLETION,
                new BackendConfiguration(8192L, List.of("--threads", "2"), null));
        assertEquals(List.of("-ngl", "999", "--metrics", "--model", "/m/model.gguf", "--host", sock.toString(),
                "--alias", "ai/m", "--ctx-size", "8192", "--threads", "2", "--jinja"), args);
    }

    @Test
    void modesAddTheirFlagsAndEmbeddingsGetMeanPoolingWhenTheModelHasNone() throws Exception {
        Path sock = dir.resolve("r.sock");
        String m = model().toString();
        List<String> emb = backend.arguments(sock, m, "x", BackendMode.EMBEDDING, BackendConfiguration.EMPTY);
        assertTrue(String.join(" ", emb).contains("--embeddings --pooling mean"), emb.toString());
        List<String> rerank = backend.arguments(sock, m, "x", BackendMode.RERANKING, BackendConfiguration.EMPTY);
        assertTrue(String.join(" ", rerank).contains("--embeddings --reranking"), rerank.toString());
    }

    @Test
    void speculativeDecodingUsesTheDraftModelWithTwoDecimals() throws Exception {
        List<String> args = backend.arguments(dir.resolve("r.sock"), "/m/a.gguf", "x", BackendMode.COMPLETION,
                new BackendConfiguration(null, List.of(), new SpeculativeDecodingConfig("/m/draft.gguf", 8, 0.8)));
        assertTrue(String.join(" ", args).endsWith("--jinja --model-draft /m/draft.gguf --spec-draft-n-max 8 --spec-draft-p-min 0.80"),
                args.toString());
    }

    @Test
    void badFlagsAndAMissingBinaryAreClearErrors() {
        BackendException flag = assertThrows(BackendException.class, () -> backend.arguments(dir.resolve("r.sock"),
                "/m.gguf", "x", BackendMode.COMPLETION, new BackendConfiguration(null, List.of("--log-file", "x"), null)));
        assertTrue(flag.getMessage().contains("'--log-file' is not allowed for backend llama.cpp"));
        BackendException missing = assertThrows(BackendException.class, () -> backend.install(null));
        assertTrue(missing.getMessage().contains("install-llama-server.sh"), missing.getMessage());
        assertTrue(backend.status().startsWith("Not Installed: binary not found"));
    }

    @Test
    void knownFailuresBecomePlainReasons() {
        assertTrue(LlamaCppBackend.explain("ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9000 MiB on device 0: "
                + "cudaMalloc failed: out of memory").startsWith("not enough GPU memory to load the model (CUDA)\n"));
        assertTrue(LlamaCppBackend.explain("llama_model_load: error loading model\nsrv load_model: exiting due to model loading error")
                .startsWith("failed to load model\n"));
        assertEquals("something else", LlamaCppBackend.explain("something else"));
    }

    @Test
    void theEstimateIsUnknownForAnUnparsableModel() throws Exception {
        Path junk = dir.resolve("junk.gguf");
        Files.writeString(junk, "not a model");
        assertThrows(GgufParseException.class, () -> backend.requiredMemoryForModel(junk.toString(), BackendConfiguration.EMPTY));
        long vram = backend.requiredMemoryForModel(model().toString(), new BackendConfiguration(1024L, List.of(), null)).vram();
        assertTrue(vram > 587L << 20 && vram < 700L << 20, "tiny model: CUDA overhead plus a little: " + vram);
    }

    @Test
    void theEstimateScalesWithContextAndFlashAttention() throws Exception {
        String m = model().toString();
        var small = backend.estimate(m, new BackendConfiguration(512L, List.of(), null), BackendMode.COMPLETION);
        var big = backend.estimate(m, new BackendConfiguration(2048L, List.of(), null), BackendMode.COMPLETION);
        var noFa = backend.estimate(m, new BackendConfiguration(2048L, List.of("-fa", "off"), null), BackendMode.COMPLETION);
        assertEquals(4 * small.kvDevice(), big.kvDevice());
        assertTrue(noFa.computeDevice() > big.computeDevice());
        var cpu = backend.estimate(m, new BackendConfiguration(2048L, List.of("-ngl", "0"), null), BackendMode.COMPLETION);
        assertEquals(0, cpu.vram(), "nothing offloaded, nothing on the GPU");
        assertEquals(big.kvDevice(), cpu.kvHost());
    }
}
