package dev.llmrt.agent;

import com.typesafe.config.Config;
import dev.llmrt.runtime.llamacpp.LlamaCppBackend;
import dev.llmrt.runtime.llamacpp.LlamaCppMemoryEstimator;
import dev.llmrt.runtime.sim.SimBackend;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.process.Executables;
import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.runtime.vllm.VllmBackend;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.Map;

/** The backends this node can run, built from {@code llmrt.backends}. */
public final class Backends {
    private Backends() {}

    private static Optional<Path> onPath(String configured, String command) {
        return configured.isBlank() ? Executables.onPath(command) : Optional.of(Path.of(configured));
    }

    private static ProcessRunner.Limits limits(Config backend) {
        return new ProcessRunner.Limits(backend.getDuration("stop-grace"), (int) backend.getBytes("output-tail").longValue());
    }

    public static Map<String, Backend> fromConfig(Config root) {
        Config c = root.getConfig("llmrt.backends");
        Map<String, Backend> backends = new LinkedHashMap<>();
        Backend sim = new SimBackend(limits(c.getConfig("sim")), c.getStringList("sim.jvm-options"));
        backends.put(sim.name(), sim);
        Config llama = c.getConfig("llama-cpp");
        Backend llamaCpp = new LlamaCppBackend(LlamaCppBackend.locate(llama.getString("binary")),
                limits(llama), new LlamaCppMemoryEstimator.Settings(llama.getBytes("cuda-overhead"),
                        llama.getBytes("embedding-overhead"), llama.getBytes("host-baseline")));
        backends.put(llamaCpp.name(), llamaCpp);
        Config vllm = c.getConfig("vllm");
        Backend vllmBackend = new VllmBackend(onPath(vllm.getString("binary"), "vllm"), limits(vllm),
                new VllmBackend.Settings(vllm.getBytes("overhead"), vllm.getBytes("host-baseline")));
        backends.put(vllmBackend.name(), vllmBackend);
        return backends;
    }
}
