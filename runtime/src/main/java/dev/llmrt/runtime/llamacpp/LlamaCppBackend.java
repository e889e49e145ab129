package dev.llmrt.runtime.llamacpp;

import dev.llmrt.runtime.flags.RuntimeFlags;
import dev.llmrt.runtime.gguf.GgufFile;
import dev.llmrt.runtime.gguf.GgufReader;
import dev.llmrt.runtime.process.Executables;
import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.GgufParseException;
import dev.llmrt.runtime.spi.RequiredMemory;
import dev.llmrt.runtime.spi.RunContext;
import dev.llmrt.runtime.spi.SpeculativeDecodingConfig;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * llama.cpp's {@code llama-server}, launched as model-runner launches it: {@code -ngl 999 --metrics
 * --model <gguf> --host <socket>} (a host ending in {@code .sock} makes it listen on a Unix
 * socket), mode flags, {@code --ctx-size}, the validated runtime flags, then {@code --jinja}.
 */
public final class LlamaCppBackend implements Backend {
    public static final String NAME = "llama.cpp";
    public static final String INSTALL_HINT = "run deploy/scripts/install-llama-server.sh (builds it offline from the "
            + "llama.cpp source in the npm package node-llama-cpp) or set llmrt.backends.llama-cpp.binary";

    private final Optional<Path> binary;
    private final ProcessRunner runner;
    private final LlamaCppMemoryEstimator estimator;
    private volatile String version;

    /** Where llama-server is expected (it may not be there: see {@link #status()}). */
    public Optional<Path> binary() {
        return binary;
    }

    public LlamaCppBackend(Optional<Path> binary, ProcessRunner.Limits process, LlamaCppMemoryEstimator.Settings memory) {
        this.binary = binary;
        this.runner = new ProcessRunner(NAME, process, LlamaCppBackend::explain);
        this.estimator = new LlamaCppMemoryEstimator(memory);
    }

    /**
     * The llama-server to use: the configured one, else {@code $LLAMA_SERVER}, else the newest one
     * the install script cached, else {@code llama-server} on the PATH.
     */
    public static Optional<Path> locate(String configured) {
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured));
        }
        String env = System.getenv("LLAMA_SERVER");
        if (env != null && !env.isBlank()) {
            return Optional.of(Path.of(env));
        }
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "pekko-inference", "llama-server");
        if (Files.isDirectory(cache)) {
            try (var dirs = Files.list(cache)) {
                Optional<Path> cached = dirs.map(d -> d.resolve("bin/llama-server")).filter(Files::isExecutable)
                        .max(java.util.Comparator.comparing(Path::toString));
                if (cached.isPresent()) {
                    return cached;
                }
            } catch (IOException ignored) {
                // fall through to the PATH
            }
        }
        return Executables.onPath("llama-server");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> checkRuntimeFlags(List<String> flags) {
        return RuntimeFlags.validate(NAME, RuntimeFlags.LLAMA_CPP, flags);
    }

    @Override
    public boolean usesExternalModelManagement() {
        return false;
    }

    @Override
    public void install(HttpClient httpClient) throws BackendException {
        if (!Executables.usable(binary)) {
            throw new BackendException("llama-server is not installed: " + INSTALL_HINT);
        }
    }

    @Override
    public String status() {
        if (!Executables.usable(binary)) {
            return "Not Installed: binary not found (" + INSTALL_HINT + ")";
        }
        String v = version;
        if (v == null) {
            v = version = readVersion(binary.get());
        }
        return "Running: llama.cpp " + v;
    }

    private static String readVersion(Path bin) {
        try {
            Process p = new ProcessBuilder(bin.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out.lines().filter(l -> l.startsWith("version:")).findFirst()
                    .map(l -> l.substring("version:".length()).trim()).orElse("unknown version");
        } catch (IOException e) {
            return "unknown version";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown version";
        }
    }

    @Override
    public long diskUsage() {
        try {
            return binary.isPresent() ? Files.size(binary.get()) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public void run(RunContext ctx, Path socket, String model, String modelRef, BackendMode mode,
                    BackendConfiguration config) throws BackendException {
        install(null);
        runner.run(ctx, binary.get(), arguments(socket, model, modelRef, mode, config), socket);
    }

    /** The llama-server arguments, in model-runner's order. */
    public List<String> arguments(Path socket, String model, String modelRef, BackendMode mode,
                                  BackendConfiguration config) throws BackendException {
        List<String> flags = RuntimeFlags.validated(NAME, RuntimeFlags.LLAMA_CPP, config.runtimeFlags());
        if (!socket.getFileName().toString().endsWith(".sock")) {
            throw new BackendException("llama-server listens on a Unix socket only when its path ends in .sock: " + socket);
        }
        List<String> args = new ArrayList<>(List.of("-ngl", "999", "--metrics", "--model", model, "--host", socket.toString(),
                "--alias", modelRef));
        switch (mode) {
            case EMBEDDING -> {
                args.add("--embeddings");
                if (!flags.contains("--pooling") && flags.stream().noneMatch(f -> f.startsWith("--pooling="))
                        && poolingType(model).isEmpty()) {
                    // a model without a pooling type gives "Pooling type 'none' is not OAI compatible"
                    args.addAll(List.of("--pooling", "mean"));
                }
            }
            case RERANKING -> args.addAll(List.of("--embeddings", "--reranking"));
            case COMPLETION -> { }
        }
        config.configuredContextSize().ifPresent(n -> args.addAll(List.of("--ctx-size", Long.toString(n))));
        args.addAll(flags);
        args.add("--jinja");
        SpeculativeDecodingConfig spec = config.speculative();
        if (spec != null && spec.draftModel() != null && !spec.draftModel().isBlank()) {
            args.addAll(List.of("--model-draft", spec.draftModel()));
            if (spec.numTokens() != null && spec.numTokens() > 0) {
                args.addAll(List.of("--spec-draft-n-max", Integer.toString(spec.numTokens())));
            }
            if (spec.minAcceptanceRate() != null && spec.minAcceptanceRate() > 0) {
                args.addAll(List.of("--spec-draft-p-min", String.format(Locale.ROOT, "%.2f", spec.minAcceptanceRate())));
            }
        }
        return args;
    }

    private static Optional<Long> poolingType(String model) {
        try {
            GgufFile f = GgufReader.read(Path.of(model));
            return f.archLong("pooling_type");
        } catch (GgufParseException e) {
            return Optional.empty();
        }
    }

    @Override
    public RequiredMemory requiredMemoryForModel(String model, BackendConfiguration config)
            throws GgufParseException, BackendException {
        return estimate(model, config, BackendMode.COMPLETION).required();
    }

    public LlamaCppMemoryEstimator.Estimate estimate(String model, BackendConfiguration config, BackendMode mode)
            throws GgufParseException, BackendException {
        GgufFile file = GgufReader.read(Path.of(model));
        try {
            return estimator.estimate(file, LlamaServerParams.resolve(file, config, mode));
        } catch (IllegalArgumentException e) {
            throw new BackendException(e.getMessage(), e);
        }
    }

    /** Known failure patterns in llama-server's output, as one plain reason plus the log tail. */
    static String explain(String tail) {
        String reason = null;
        if (tail.contains("cudaMalloc failed: out of memory") || tail.contains("CUDA error: out of memory")) {
            reason = "not enough GPU memory to load the model (CUDA)";
        } else if (tail.contains("failed to allocate buffer") && tail.toLowerCase(Locale.ROOT).contains("metal")) {
            reason = "not enough GPU memory to load the model (Metal)";
        } else if (tail.contains("exiting due to model loading error") || tail.contains("failed to load model")) {
            reason = "failed to load model";
        } else if (tail.contains("couldn't bind") || tail.contains("Address already in use")) {
            reason = "could not listen on its socket";
        }
        return reason == null ? tail : reason + "\n" + tail;
    }
}
