package dev.llmrt.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmrt.agent.Backends;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import dev.llmrt.runtime.llamacpp.LlamaCppMemoryEstimator;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.GgufParseException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmrt estimate MODEL.gguf}: the memory llama-server will need for a model, and its parts. */
@Command(name = "estimate", mixinStandardHelpOptions = true,
        description = "Estimates the RAM and VRAM llama-server needs to serve a GGUF model, from its header only.")
final class EstimateCommand implements Callable<Integer> {
    private static final double MIB = 1024.0 * 1024.0;

    @Parameters(paramLabel = "MODEL.gguf", description = "The model file (only its header is read).")
    Path model;

    @Option(names = "--context-size", paramLabel = "N", description = "Context size (default: the model's).")
    Long contextSize;

    @Option(names = "--flash-attn", paramLabel = "on|off", description = "Flash attention (default: on, llama.cpp's auto).")
    String flashAttn;

    @Option(names = "--parallel", paramLabel = "N", description = "Parallel slots (default: llama-server's auto, 4 sharing one KV cache).")
    Integer parallel;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "completion",
            description = "completion, embedding or reranking (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<String> flags = new ArrayList<>();
        if (flashAttn != null) {
            if (!flashAttn.equals("on") && !flashAttn.equals("off")) {
                System.err.println("llmrt estimate: --flash-attn must be on or off, got '" + flashAttn + "'");
                return 2;
            }
            flags.addAll(List.of("-fa", flashAttn));
        }
        if (parallel != null) {
            flags.addAll(List.of("-np", parallel.toString()));
        }
        BackendMode backendMode;
        try {
            backendMode = BackendMode.fromWire(mode);
        } catch (IllegalArgumentException e) {
            System.err.println("llmrt estimate: " + e.getMessage());
            return 2;
        }
        // the backend as a node would build it, with the configured estimator settings
        LlamaCppBackend backend = (LlamaCppBackend) Backends.fromConfig(ServeCommand.load(null, "127.0.0.1", 0, null))
                .get(LlamaCppBackend.NAME);
        LlamaCppMemoryEstimator.Estimate e;
        try {
            e = backend.estimate(model.toString(), new BackendConfiguration(contextSize, flags, null), backendMode);
        } catch (GgufParseException | BackendException ex) {
            System.err.println("llmrt estimate: " + ex.getMessage() + " (memory requirement unknown)");
            return 1;
        }
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode().put("model", model.toString()).put("ram_bytes", e.ram())
                    .put("vram_bytes", e.vram()).put("context_size", e.params().nCtx())
                    .put("parallel", e.params().nParallel()).put("flash_attention", e.params().flashAttention());
            ObjectNode parts = root.putObject("parts");
            e.parts().forEach(parts::put);
            System.out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root));
            return 0;
        }
        System.out.printf("%s: context %d, %d slot(s)%s, flash attention %s%n", model, e.params().nCtx(),
                e.params().nParallel(), e.params().kvUnified() ? " sharing one KV cache" : "",
                e.params().flashAttention() ? "on" : "off");
        System.out.printf("%-16s %16s %12s%n", "", "bytes", "MiB");
        System.out.printf("%-16s %16d %12.1f%n", "VRAM", e.vram(), e.vram() / MIB);
        System.out.printf("%-16s %16d %12.1f%n", "RAM", e.ram(), e.ram() / MIB);
        for (Map.Entry<String, Long> part : e.parts().entrySet()) {
            System.out.printf("  %-14s %16d %12.1f%n", part.getKey(), part.getValue(), part.getValue() / MIB);
        }
        return 0;
    }
}
