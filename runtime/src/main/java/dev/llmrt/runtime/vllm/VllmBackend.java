package dev.llmrt.runtime.vllm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmrt.runtime.flags.RuntimeFlags;
import dev.llmrt.runtime.process.Executables;
import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RequiredMemory;
import dev.llmrt.runtime.spi.RunContext;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.stream.Stream;

/**
 * vLLM's OpenAI server: {@code vllm serve <model dir> --uds <socket> --served-model-name <ref>},
 * {@code --max-model-len} from the configured context, pooling runner options for embedding and
 * reranking, then the validated runtime flags. vLLM is installed by the user ({@code pip install vllm}
 * on a CUDA machine); this project can't install or run it here.
 */
public final class VllmBackend implements Backend {
    public static final String NAME = "vllm";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MIB = 1024L * 1024L;
    private static final String GPU_MEMORY_UTILIZATION = "--gpu-memory-utilization";

    /**
     * @param overhead vLLM's per-process device memory besides weights and KV cache: CUDA context,
     *                 cuBLAS/NCCL workspaces, activation peak and CUDA graphs (about 1.5 GiB for small models)
     */
    public record Settings(long overhead, long hostBaseline) {
        public static final Settings DEFAULT = new Settings(1536 * MIB, 2048 * MIB);
    }

    private final Optional<Path> binary;
    private final ProcessRunner runner;
    private final Settings settings;

    public VllmBackend(Optional<Path> binary, ProcessRunner.Limits process, Settings settings) {
        this.binary = binary;
        this.runner = new ProcessRunner(NAME, process, VllmBackend::explain);
        this.settings = settings;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> checkRuntimeFlags(List<String> flags) {
        return RuntimeFlags.validate(NAME, RuntimeFlags.VLLM, flags);
    }

    @Override
    public boolean usesExternalModelManagement() {
        return false;
    }

    @Override
    public void install(HttpClient httpClient) throws BackendException {
        if (!Executables.usable(binary)) {
            throw new BackendException("vLLM is not installed: on a machine with an NVIDIA GPU, 'pip install vllm' "
                    + "and set llmrt.backends.vllm.binary to its 'vllm' command");
        }
    }

    @Override
    public String status() {
        return Executables.usable(binary) ? "Running: vllm" : "Not Installed: vllm not found (pip install vllm)";
    }

    @Override
    public long diskUsage() {
        return 0;
    }

    @Override
    public void run(RunContext ctx, Path socket, String model, String modelRef, BackendMode mode,
                    BackendConfiguration config) throws BackendException {
        install(null);
        runner.run(ctx, binary.get(), arguments(socket, model, modelRef, mode, config, ctx.gpus()), socket);
    }

    /**
     * @param gpus where placement put the runner and what it reserved there: vLLM otherwise takes 90%
     *             of each GPU, whatever else runs on it, so {@code --gpu-memory-utilization} is set to
     *             the reservation's share (a user's lower value stands)
     */
    public List<String> arguments(Path socket, String model, String modelRef, BackendMode mode,
                                  BackendConfiguration config, List<RunContext.Gpu> gpus) throws BackendException {
        List<String> flags = new ArrayList<>(RuntimeFlags.validated(NAME, RuntimeFlags.VLLM, config.runtimeFlags()));
        OptionalDouble reserved = memoryUtilization(gpus);
        if (reserved.isPresent()) {
            double user = flagValue(flags, GPU_MEMORY_UTILIZATION).map(VllmBackend::fraction).orElse(1.0);
            removeFlag(flags, GPU_MEMORY_UTILIZATION);
            flags.addAll(List.of(GPU_MEMORY_UTILIZATION, formatFraction(Math.min(user, reserved.getAsDouble()))));
        }
        List<String> args = new ArrayList<>(List.of("serve", model, "--uds", socket.toString()));
        if (!hasFlag(flags, "--served-model-name")) {
            args.addAll(List.of("--served-model-name", modelRef));
        }
        config.configuredContextSize().filter(n -> n > 0)
                .ifPresent(n -> args.addAll(List.of("--max-model-len", Long.toString(n))));
        switch (mode) {
            case EMBEDDING -> args.addAll(List.of("--runner", "pooling", "--convert", "embed"));
            case RERANKING -> args.addAll(List.of("--runner", "pooling", "--convert", "classify"));
            case COMPLETION -> { }
        }
        args.addAll(flags);
        return args;
    }

    /**
     * The share of each GPU's memory the runner may take: its reservation over the GPU's total, the
     * smallest over its GPUs (vLLM applies one fraction to all of them), rounded down to 1/10000. The
     * total is nvidia-smi's {@code memory.total}; CUDA's total, which vLLM multiplies, is a little
     * smaller (the driver's reserve), so vLLM stays inside the reservation.
     */
    static OptionalDouble memoryUtilization(List<RunContext.Gpu> gpus) {
        return gpus.stream().filter(g -> g.totalBytes() > 0)
                .mapToDouble(g -> Math.floor(10_000.0 * g.reservedBytes() / g.totalBytes()) / 10_000.0).min();
    }

    private static double fraction(String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            return 1.0; // vLLM itself refuses it
        }
    }

    private static String formatFraction(double f) {
        return String.format(java.util.Locale.ROOT, "%.4f", f);
    }

    private static void removeFlag(List<String> flags, String flag) {
        for (int i = 0; i < flags.size(); i++) {
            if (flags.get(i).startsWith(flag + "=")) {
                flags.remove(i--);
            } else if (flags.get(i).equals(flag)) {
                flags.remove(i);
                if (i < flags.size() && !flags.get(i).startsWith("-")) {
                    flags.remove(i);
                }
                i--;
            }
        }
    }

    private static boolean hasFlag(List<String> flags, String flag) {
        return flags.stream().anyMatch(f -> f.equals(flag) || f.startsWith(flag + "="));
    }

    /**
     * Weights from the safetensors headers, plus the KV cache of one sequence of the model length
     * (vLLM refuses to start without room for it) from {@code config.json}, plus vLLM's overhead.
     * vLLM itself then takes {@code --gpu-memory-utilization} of the GPU, which {@link #run} sets to
     * the share placement reserved. The overhead of one process is the part placement learns per GPU
     * kind; with tensor parallelism the other GPUs' overheads stay in the predicted part.
     */
    @Override
    public RequiredMemory requiredMemoryForModel(String model, BackendConfiguration config) throws BackendException {
        Path dir = Path.of(model);
        try {
            long weights = 0;
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList()) {
                    weights += SafetensorsHeader.tensorBytes(f);
                }
            }
            if (weights == 0) {
                throw new BackendException("no .safetensors weights in " + dir);
            }
            JsonNode cfg = JSON.readTree(dir.resolve("config.json").toFile());
            JsonNode text = cfg.has("text_config") ? cfg.get("text_config") : cfg;
            long layers = text.path("num_hidden_layers").asLong();
            long heads = text.path("num_attention_heads").asLong();
            long kvHeads = text.path("num_key_value_heads").asLong(heads);
            long hidden = text.path("hidden_size").asLong();
            long headDim = text.path("head_dim").asLong(heads > 0 ? hidden / heads : 0);
            if (layers <= 0 || heads <= 0 || headDim <= 0) {
                throw new BackendException(dir.resolve("config.json") + " lacks num_hidden_layers, num_attention_heads or hidden_size");
            }
            long maxLen = flagValue(config.runtimeFlags(), "--max-model-len").map(Long::parseLong)
                    .or(config::configuredContextSize)
                    .orElse(text.path("max_position_embeddings").asLong(4096));
            long kvBytes = flagValue(config.runtimeFlags(), "--kv-cache-dtype").filter(v -> v.startsWith("fp8")).isPresent()
                    ? 1 : dtypeBytes(text.path("torch_dtype").asText(cfg.path("torch_dtype").asText("bfloat16")));
            long kv = 2 * layers * maxLen * kvHeads * headDim * kvBytes;
            long tp = flagValue(config.runtimeFlags(), "--tensor-parallel-size").or(() -> flagValue(config.runtimeFlags(), "-tp"))
                    .map(Long::parseLong).orElse(1L);
            // with tensor parallelism each GPU holds a share; the requirement is the total over the GPUs
            return new RequiredMemory(settings.hostBaseline(), weights + kv + tp * settings.overhead(), settings.overhead());
        } catch (IOException e) {
            throw new BackendException("can't read vLLM model " + dir + ": " + e.getMessage(), e);
        } catch (NumberFormatException e) {
            throw new BackendException("bad number in vLLM runtime flags: " + e.getMessage(), e);
        }
    }

    private static long dtypeBytes(String torchDtype) {
        return switch (torchDtype) {
            case "float32" -> 4;
            case "float8", "float8_e4m3fn" -> 1;
            default -> 2;
        };
    }

    private static Optional<String> flagValue(List<String> flags, String flag) {
        for (int i = 0; i < flags.size(); i++) {
            if (flags.get(i).startsWith(flag + "=")) {
                return Optional.of(flags.get(i).substring(flag.length() + 1));
            }
            if (flags.get(i).equals(flag) && i + 1 < flags.size()) {
                return Optional.of(flags.get(i + 1));
            }
        }
        return Optional.empty();
    }

    static String explain(String tail) {
        if (tail.contains("CUDA out of memory") || tail.contains("OutOfMemoryError")) {
            return "not enough GPU memory to load the model (CUDA)\n" + tail;
        }
        if (tail.contains("No available memory for the cache blocks") || tail.contains("larger than the maximum number of tokens")) {
            return "not enough GPU memory for the KV cache at this max-model-len\n" + tail;
        }
        return tail;
    }
}
