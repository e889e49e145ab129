package dev.llmrt.runtime.llamacpp;

import dev.llmrt.runtime.gguf.GgmlType;
import dev.llmrt.runtime.gguf.GgufFile;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendMode;
import java.util.List;
import java.util.Locale;

/**
 * The llama-server settings that decide its memory, as it will resolve them for a model and a
 * configuration: defaults from llama.cpp's {@code common.h} and {@code server.cpp} (context 0 =
 * the model's, batch 2048, ubatch 512, parallel auto = 4 slots with a unified KV cache, flash
 * attention auto = on where supported, all layers offloaded), overridden by runtime flags.
 */
public record LlamaServerParams(long nCtx, int nParallel, boolean kvUnified, boolean flashAttention, int nGpuLayers,
                                int nBatch, int nUbatch, GgmlType cacheTypeK, GgmlType cacheTypeV, BackendMode mode) {

    public static LlamaServerParams resolve(GgufFile model, BackendConfiguration config, BackendMode mode) {
        long trained = model.archLong("context_length").orElse(4096L);
        long ctx = 0;
        int parallel = -1;
        boolean kvUnified = false;
        boolean fa = true;
        int ngl = 999;
        int batch = 2048;
        int ubatch = 512;
        GgmlType k = GgmlType.F16;
        GgmlType v = GgmlType.F16;
        List<String> flags = config.runtimeFlags();
        for (int i = 0; i < flags.size(); i++) {
            String flag = flags.get(i);
            String value = null;
            int eq = flag.indexOf('=');
            if (eq > 0) {
                value = flag.substring(eq + 1);
                flag = flag.substring(0, eq);
            } else if (i + 1 < flags.size() && takesValue(flag)) {
                value = flags.get(++i);
            }
            switch (flag) {
                case "-c", "--ctx-size" -> ctx = Long.parseLong(value);
                case "-np", "--parallel" -> parallel = Integer.parseInt(value);
                case "-kvu", "--kv-unified" -> kvUnified = true;
                case "-fa", "--flash-attn" -> fa = value == null || !value.toLowerCase(Locale.ROOT).matches("off|0|false|disabled");
                case "-ngl", "--gpu-layers", "--n-gpu-layers" -> ngl = "all".equals(value) || "auto".equals(value) ? 999 : Integer.parseInt(value);
                case "-b", "--batch-size" -> batch = Integer.parseInt(value);
                case "-ub", "--ubatch-size" -> ubatch = Integer.parseInt(value);
                case "-ctk", "--cache-type-k" -> k = cacheType(value);
                case "-ctv", "--cache-type-v" -> v = cacheType(value);
                default -> { }
            }
        }
        // the configured context size beats the flags and the model's; -1 means the model's maximum
        if (config.contextSize() != null && config.contextSize() != 0) {
            ctx = config.contextSize() < 0 ? 0 : config.contextSize();
        }
        if (ctx <= 0 || ctx > trained) {
            ctx = trained; // llama.cpp caps -c at the trained context
        }
        if (parallel < 0) {
            parallel = 4;
            kvUnified = true; // server.cpp: auto parallel means 4 slots sharing one KV cache
        }
        ubatch = Math.min(ubatch, batch);
        return new LlamaServerParams(ctx, parallel, kvUnified, fa, ngl, batch, ubatch, k, v, mode);
    }

    private static boolean takesValue(String flag) {
        return switch (flag) {
            case "-c", "--ctx-size", "-np", "--parallel", "-fa", "--flash-attn", "-ngl", "--gpu-layers",
                 "--n-gpu-layers", "-b", "--batch-size", "-ub", "--ubatch-size", "-ctk", "--cache-type-k",
                 "-ctv", "--cache-type-v" -> true;
            default -> false;
        };
    }

    private static GgmlType cacheType(String value) {
        GgmlType t;
        try {
            t = GgmlType.valueOf(value.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            t = null;
        }
        if (t == null) {
            throw new IllegalArgumentException("unknown KV cache type '" + value + "'");
        }
        return t;
    }

    /** KV cells one sequence sees: all of them when unified, else an equal share per slot. */
    public long kvCellsPerSequence() {
        return kvUnified ? nCtx : nCtx / nParallel;
    }
}
