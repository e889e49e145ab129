package dev.llmrt.runtime.sim;

import dev.llmrt.runtime.process.ProcessRunner;
import dev.llmrt.runtime.spi.Backend;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.runtime.spi.BackendException;
import dev.llmrt.runtime.spi.BackendMode;
import dev.llmrt.runtime.spi.RequiredMemory;
import dev.llmrt.runtime.spi.RunContext;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A backend whose process is a simulated inference server ({@link SimServer}) started as a real
 * child JVM on this JVM's class path. Its speed, declared memory and faults are its runtime flags.
 */
public final class SimBackend implements Backend {
    public static final String NAME = "sim";
    private static final long MIB = 1024L * 1024L;

    private final ProcessRunner runner;
    private final List<String> jvmOptions;

    /**
     * @param process    how long a cancelled sim gets between SIGTERM and SIGKILL, and how much output to keep
     * @param jvmOptions options for the sim's JVM (heap, GC)
     */
    public SimBackend(ProcessRunner.Limits process, List<String> jvmOptions) {
        this.runner = new ProcessRunner(NAME, process, UnaryOperator.identity());
        this.jvmOptions = List.copyOf(jvmOptions);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> checkRuntimeFlags(List<String> flags) {
        SimSettings.parse(flags);
        return List.copyOf(flags);
    }

    @Override
    public boolean usesExternalModelManagement() {
        return true; // sim models are names, not files in the model store
    }

    @Override
    public void install(HttpClient httpClient) {
        // nothing to install: the sim runs on this JVM's own class path
    }

    @Override
    public void run(RunContext ctx, Path socket, String model, String modelRef, BackendMode mode,
                    BackendConfiguration config) throws BackendException {
        SimSettings settings = settings(config);
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(SimServer.class.getName());
        command.addAll(List.of("--socket", socket.toString(), "--model", model, "--model-ref", modelRef,
                "--mode", mode.wireName(), "--parent-pid", Long.toString(ProcessHandle.current().pid())));
        command.addAll(settings.toFlags());
        runner.run(ctx, command, Map.of(), socket);
    }

    @Override
    public String status() {
        return "Running: sim on Java " + Runtime.version().feature();
    }

    @Override
    public long diskUsage() {
        return 0;
    }

    @Override
    public RequiredMemory requiredMemoryForModel(String model, BackendConfiguration config) throws BackendException {
        SimSettings s = settings(config);
        return new RequiredMemory(s.ramMb() * MIB, s.vramMb() * MIB);
    }

    private static SimSettings settings(BackendConfiguration config) throws BackendException {
        try {
            return SimSettings.parse(config.runtimeFlags());
        } catch (IllegalArgumentException e) {
            throw new BackendException(e.getMessage(), e);
        }
    }
}
