package dev.llmrt.runtime.vllm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RequiredMemory;
import dev.llmrt.runtime.spi.RunContext;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VllmBackendTest {
    private static final long MIB = 1024 * 1024;

    @TempDir
    Path dir;

    private final VllmBackend backend = new VllmBackend(Optional.empty(), new ProcessRunner.Limits(Duration.ofSeconds(5), 2048), VllmBackend.Settings.DEFAULT);

    /** A safetensors file with this JSON header and no weights after it (the estimate never reads them). */
    private void safetensors(String name, String header, long claimedLength) throws Exception {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(claimedLength < 0 ? json.length : claimedLength).put(json);
        Files.write(dir.resolve(name), b.array());
    }

    private void qwenLikeModel() throws Exception {
        // two shards: 100 M bf16 params and 50 M f32 params
        safetensors("model-00001-of-00002.safetensors", "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"BF16\",\"shape\":[10000,10000],\"data_offsets\":[0,200000000]}}", -1);
        safetensors("model-00002-of-00002.safetensors",
                "{\"b\":{\"dtype\":\"F32\",\"shape\":[5000,10000],\"data_offsets\":[0,200000000]}}", -1);
        Files.writeString(dir.resolve("config.json"), "{\"num_hidden_layers\":24,\"num_attention_heads\":14,"
                + "\"num_key_value_heads\":2,\"hidden_size\":896,\"max_position_embeddings\":32768,\"torch_dtype\":\"bfloat16\"}");
    }

    @Test
    void gpuMemoryUtilizationIsTheShareOfTheGpuPlacementReserved() throws Exception {
        Path sock = dir.resolve("v.sock");
        // 20 GiB reserved on an H100 (nvidia-smi memory.total 81559 MiB): 20480 / 81559 = 0.25110..., rounded down
        RunContext.Gpu h100 = new RunContext.Gpu(0, 20480 * MIB, 81559 * MIB);
        List<String> args = backend.arguments(sock, "/m", "m", BackendMode.COMPLETION, BackendConfiguration.EMPTY, List.of(h100));
        assertEquals(List.of("--gpu-memory-utilization", "0.2511"), args.subList(args.size() - 2, args.size()));

        // split over two GPUs: one fraction for both, the smaller, so neither GPU gives more than was reserved
        List<RunContext.Gpu> split = List.of(new RunContext.Gpu(0, 40 * 1024 * MIB, 80 * 1024 * MIB),
                new RunContext.Gpu(1, 20 * 1024 * MIB, 80 * 1024 * MIB));
        args = backend.arguments(sock, "/m", "m", BackendMode.COMPLETION,
                new BackendConfiguration(null, List.of("--gpu-memory-utilization=0.9"), null), split);
        assertEquals(1, args.stream().filter(a -> a.startsWith("--gpu-memory-utilization")).count(), args.toString());
        assertEquals(List.of("--gpu-memory-utilization", "0.2500"), args.subList(args.size() - 2, args.size()),
                "the user's 0.9 would take more than the reservation");

        // a user's lower value stands
        args = backend.arguments(sock, "/m", "m", BackendMode.COMPLETION,
                new BackendConfiguration(null, List.of("--gpu-memory-utilization", "0.1"), null), List.of(h100));
        assertEquals(List.of("--gpu-memory-utilization", "0.1000"), args.subList(args.size() - 2, args.size()));

        // on no GPU (never placed: a CPU test) nothing is added
        args = backend.arguments(sock, "/m", "m", BackendMode.COMPLETION, BackendConfiguration.EMPTY, List.of());
        assertTrue(args.stream().noneMatch(a -> a.startsWith("--gpu-memory-utilization")), args.toString());
    }

    @Test
    void argumentsServeTheModelOnTheSocketUnderItsName() throws Exception {
        Path sock = dir.resolve("v.sock");
        assertEquals(List.of("serve", "/models/qwen", "--uds", sock.toString(), "--served-model-name", "ai/qwen",
                        "--max-model-len", "8192", "--tensor-parallel-size", "2"),
                backend.arguments(sock, "/models/qwen", "ai/qwen", BackendMode.COMPLETION,
                        new BackendConfiguration(8192L, List.of("--tensor-parallel-size", "2"), null), List.of()));
        List<String> emb = backend.arguments(sock, "/m", "e", BackendMode.EMBEDDING, BackendConfiguration.EMPTY, List.of());
        assertTrue(String.join(" ", emb).endsWith("--runner pooling --convert embed"), emb.toString());
        BackendException bad = assertThrows(BackendException.class, () -> backend.arguments(sock, "/m", "e",
                BackendMode.COMPLETION, new BackendConfiguration(null, List.of("--download-dir=/tmp"), null), List.of()));
        assertTrue(bad.getMessage().contains("backend vllm"), bad.getMessage());
    }

    @Test
    void estimateIsWeightsPlusOneSequenceOfKvPlusOverhead() throws Exception {
        qwenLikeModel();
        RequiredMemory m = backend.requiredMemoryForModel(dir.toString(), new BackendConfiguration(4096L, List.of(), null));
        long weights = 200_000_000L + 200_000_000L;
        long kv = 2L * 24 * 4096 * 2 * 64 * 2;
        assertEquals(weights + kv + 1536 * MIB, m.vram());
        assertEquals(1536 * MIB, m.vramOverhead(), "one process's overhead: what placement learns per GPU kind");
        RequiredMemory full = backend.requiredMemoryForModel(dir.toString(), BackendConfiguration.EMPTY);
        assertEquals(weights + 8 * kv + 1536 * MIB, full.vram(), "the model's max_position_embeddings by default");
        RequiredMemory fp8 = backend.requiredMemoryForModel(dir.toString(),
                new BackendConfiguration(4096L, List.of("--kv-cache-dtype", "fp8"), null));
        assertEquals(weights + kv / 2 + 1536 * MIB, fp8.vram());
    }

    @Test
    void hostileSafetensorsHeadersAreRefused() throws Exception {
        safetensors("bad.safetensors", "{}", 1L << 60);
        Files.writeString(dir.resolve("config.json"), "{}");
        BackendException e = assertThrows(BackendException.class,
                () -> backend.requiredMemoryForModel(dir.toString(), BackendConfiguration.EMPTY));
        assertTrue(e.getMessage().contains("safetensors header claims 1152921504606846976 bytes"), e.getMessage());
        safetensors("bad.safetensors", "{\"x\":{\"dtype\":\"Q9\",\"shape\":[1]}}", -1);
        e = assertThrows(BackendException.class, () -> backend.requiredMemoryForModel(dir.toString(), BackendConfiguration.EMPTY));
        assertTrue(e.getMessage().contains("unknown dtype 'Q9'"), e.getMessage());
        safetensors("bad.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,4]}}", -1);
        e = assertThrows(BackendException.class, () -> backend.requiredMemoryForModel(dir.toString(), BackendConfiguration.EMPTY));
        assertTrue(e.getMessage().contains("overflow"), e.getMessage());
    }

    @Test
    void notInstalledSaysWhatToInstall() {
        BackendException e = assertThrows(BackendException.class, () -> backend.install(null));
        assertTrue(e.getMessage().contains("pip install vllm"));
        assertTrue(backend.status().startsWith("Not Installed"));
    }
}
