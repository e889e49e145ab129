package dev.llmrt.runtime.llamacpp;

import dev.llmrt.runtime.gguf.GgufFile;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RequiredMemory;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What llama-server will allocate for a dense llama-family model: weights per device, the KV
 * cache, the compute buffers, and the per-process CUDA overhead no buffer shows.
 *
 * <p>The compute-buffer model follows how llama.cpp reserves its worst-case prompt graph
 * ({@code llama_context} reserve with {@code n_ubatch} tokens): the KQ mask is an input
 * ({@code n_kv x n_ubatch}, F16 with flash attention, F32 without), and the peak of the rest is
 * either the FFN (gate, up and their product: 3 x n_ff, plus 3 x n_embd of residual and norm,
 * per token, F32) or, without flash attention, the KQ matrix ({@code n_kv x n_ubatch x n_head},
 * F32) plus 4 x n_embd per token. Checked against what llama.cpp de3ff81 allocated on an H100
 * ({@code fixtures/gpu/h100/llama-server-memory}).
 */
public final class LlamaCppMemoryEstimator {
    public static final long MIB = 1024L * 1024L;

    /**
     * @param cudaOverhead      per-process CUDA context and driver memory (~587 MiB on an H100)
     * @param embeddingOverhead extra unaccounted device memory seen in embedding mode (~100 MiB)
     * @param hostBaseline      RAM of the process itself besides its buffers
     */
    public record Settings(long cudaOverhead, long embeddingOverhead, long hostBaseline) {
        public static final Settings DEFAULT = new Settings(587 * MIB, 100 * MIB, 64 * MIB);
    }

    /** The estimate and its parts, in bytes. */
    public record Estimate(long weightsDevice, long weightsHost, long kvDevice, long kvHost, long computeDevice,
                           long computeHost, long overheadDevice, long overheadHost, LlamaServerParams params) {
        public long vram() {
            return weightsDevice + kvDevice + computeDevice + overheadDevice;
        }

        public long ram() {
            return weightsHost + kvHost + computeHost + overheadHost;
        }

        public RequiredMemory required() {
            return new RequiredMemory(ram(), vram(), overheadDevice);
        }

        public Map<String, Long> parts() {
            Map<String, Long> m = new LinkedHashMap<>();
            m.put("weights_device", weightsDevice);
            m.put("weights_host", weightsHost);
            m.put("kv_cache_device", kvDevice);
            m.put("kv_cache_host", kvHost);
            m.put("compute_device", computeDevice);
            m.put("compute_host", computeHost);
            m.put("overhead_device", overheadDevice);
            m.put("overhead_host", overheadHost);
            return m;
        }
    }

    private final Settings settings;

    public LlamaCppMemoryEstimator(Settings settings) {
        this.settings = settings;
    }

    public Estimate estimate(GgufFile model, LlamaServerParams p) {
        long nLayer = require(model, "block_count");
        long nEmbd = require(model, "embedding_length");
        long nHead = require(model, "attention.head_count");
        long nHeadKv = model.archLong("attention.head_count_kv").orElse(nHead);
        long nFf = model.archLong("feed_forward_length").orElse(4 * nEmbd);
        long headDimK = model.archLong("attention.key_length").orElse(nEmbd / nHead);
        long headDimV = model.archLong("attention.value_length").orElse(nEmbd / nHead);
        long nVocab = model.archLong("vocab_size").orElse(vocabFromTokenizer(model));

        // layers offloaded: the last ngl repeating layers; the output layer too when ngl > n_layer
        long offloaded = Math.min(Math.max(p.nGpuLayers(), 0), nLayer);
        boolean outputOnDevice = p.nGpuLayers() > nLayer;
        boolean anyDevice = offloaded > 0 || outputOnDevice;

        long weightsDevice = 0;
        long weightsHost = 0;
        boolean hasOutput = false;
        long tokenEmbd = 0;
        for (GgufFile.TensorInfo t : model.tensors()) {
            String name = t.name();
            long bytes = t.bytes();
            if (name.startsWith("token_embd.")) {
                tokenEmbd += bytes;
                weightsHost += bytes; // the input embedding always stays on the CPU
                continue;
            }
            if (name.startsWith("output.")) {
                hasOutput = true;
            }
            boolean onDevice;
            if (name.startsWith("blk.")) {
                long layer = Long.parseLong(name.substring(4, name.indexOf('.', 4)));
                onDevice = layer >= nLayer - offloaded;
            } else {
                onDevice = outputOnDevice;
            }
            if (onDevice) {
                weightsDevice += deviceBytes(t);
            } else {
                weightsHost += bytes;
            }
        }
        if (!hasOutput && outputOnDevice) {
            weightsDevice += tokenEmbd; // tied embeddings: the output layer gets its own copy
        }

        // KV cache: K and V for every cell of every layer, on the layer's device
        long kvPerLayer = p.cacheTypeK().bytes(p.nCtx() * headDimK * nHeadKv) + p.cacheTypeV().bytes(p.nCtx() * headDimV * nHeadKv);
        long kvDevice = kvPerLayer * offloaded;
        long kvHost = kvPerLayer * (nLayer - offloaded);

        // compute buffers for the worst-case prompt graph
        long nUb = Math.min(p.nUbatch(), p.nCtx());
        long nKv = pad(p.kvCellsPerSequence(), 256);
        long f32 = 4;
        long mask = nKv * pad(nUb, 64) * (p.flashAttention() ? 2 : 4);
        long ffnPeak = (3 * nFf + 3 * nEmbd) * nUb * f32;
        long attnPeak = p.flashAttention()
                ? (4 * nEmbd + 2 * headDimK * nHeadKv) * nUb * f32
                : nKv * nUb * nHead * f32 + 4 * nEmbd * nUb * f32;
        long outputs = p.mode() == BackendMode.COMPLETION ? Math.min(p.nParallel(), nUb) : nUb;
        long outputPeak = (p.mode() == BackendMode.COMPLETION ? nVocab : nEmbd) * outputs * f32;
        long graph = mask + Math.max(ffnPeak, Math.max(attnPeak, outputPeak));
        long hostInputs = mask + 2 * nEmbd * nUb * f32; // inputs staged on the host for the device

        long computeDevice = anyDevice ? graph : 0;
        long computeHost = anyDevice ? hostInputs : graph;
        long overheadDevice = anyDevice
                ? settings.cudaOverhead() + (p.mode() == BackendMode.COMPLETION ? 0 : settings.embeddingOverhead()) : 0;
        return new Estimate(weightsDevice, weightsHost, kvDevice, kvHost, computeDevice, computeHost, overheadDevice,
                settings.hostBaseline(), p);
    }

    /**
     * A tensor's size in a CUDA buffer: quantized rows are padded to a multiple of 512 elements
     * (MATRIX_ROW_PADDING in ggml-cuda) and every tensor is aligned to 128 bytes.
     */
    static long deviceBytes(GgufFile.TensorInfo t) {
        long bytes = t.bytes();
        long ne0 = t.dims()[0];
        if (t.type().blockSize > 1 && ne0 % 512 != 0) {
            bytes += t.type().bytes(512 - ne0 % 512);
        }
        return pad(bytes, 128);
    }

    private static long require(GgufFile model, String key) {
        return model.archLong(key).orElseThrow(() -> new IllegalArgumentException(
                "model has no " + model.architecture() + "." + key + ": can't estimate its memory"));
    }

    private static long vocabFromTokenizer(GgufFile model) {
        return model.get("tokenizer.ggml.tokens").filter(GgufFile.GgufArray.class::isInstance)
                .map(a -> (long) ((GgufFile.GgufArray) a).values().size()).orElse(32000L);
    }

    private static long pad(long n, long to) {
        return (n + to - 1) / to * to;
    }
}
