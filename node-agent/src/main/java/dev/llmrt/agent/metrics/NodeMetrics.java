package dev.llmrt.agent.metrics;

import dev.llmrt.agent.runner.RunnerLoad;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.ToLongFunction;

/**
 * What a node agent counts: runner load times, restarts, evictions, placement decisions, each
 * runner's requests in flight and queued, and per GPU its memory: total, used by others, reserved by
 * placement, and what our runners measurably use. Every series has a {@code node} label. Gauges
 * read the agent's last snapshot (and each runner's live counters) when scraped.
 */
public final class NodeMetrics {
    /** A runner as the gauges see it. */
    public record Runner(String model, String backend, String mode, RunnerLoad load, Path socket) {}

    /** One GPU's memory, in bytes. */
    public record Gpu(int index, String name, long total, long usedByOthers, long reserved, long usedByRunners) {}

    private final String node;
    private final Histogram loadTime;
    private final Counter restarts;
    private final Counter evictions;
    private final Counter placements;
    private volatile List<Runner> runners = List.of();
    private volatile List<Gpu> gpus = List.of();

    /** Series that go nowhere (tests, nodes built without a registry). */
    public static NodeMetrics none() {
        return new NodeMetrics(new PrometheusRegistry(), "none");
    }

    private final RunnerMetrics runnerMetrics;

    public NodeMetrics(PrometheusRegistry registry, String node) {
        this(registry, node, new RunnerMetrics.Settings(Duration.ofSeconds(2), 4 << 20));
    }

    /** @param runnerMetrics how each runner's own metrics are read for re-export */
    public NodeMetrics(PrometheusRegistry registry, String node, RunnerMetrics.Settings runnerMetrics) {
        this.node = node;
        this.runnerMetrics = new RunnerMetrics(node, () -> runners.stream()
                .map(r -> new RunnerMetrics.Source(r.model(), r.backend(), r.mode(), r.socket())).toList(), runnerMetrics);
        registry.register(this.runnerMetrics);
        loadTime = Histogram.builder().name("llmrt_runner_load_seconds")
                .help("From a runner's process start to its backend answering healthy")
                .labelNames("node", "model", "backend", "mode").classicOnly()
                .classicUpperBounds(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600).register(registry);
        restarts = Counter.builder().name("llmrt_runner_restarts_total")
                .help("Runner processes restarted after they exited").labelNames("node", "model", "backend").register(registry);
        evictions = Counter.builder().name("llmrt_runner_evictions_total")
                .help("Idle runners unloaded to make room for another model").labelNames("node", "model").register(registry);
        placements = Counter.builder().name("llmrt_placement_decisions_total")
                .help("This node's decisions to start a runner (placed) or not (refused: it doesn't fit)")
                .labelNames("node", "model", "outcome").register(registry);
        GaugeWithCallback.builder().name("llmrt_runner_requests_in_flight").help("Requests a runner's backend is working on")
                .labelNames("node", "model", "backend", "mode")
                .callback(cb -> runners.forEach(r -> cb.call(r.load().inFlight.get(), node, r.model(), r.backend(), r.mode())))
                .register(registry);
        GaugeWithCallback.builder().name("llmrt_runner_requests_queued").help("Requests waiting for a runner's backend")
                .labelNames("node", "model", "backend", "mode")
                .callback(cb -> runners.forEach(r -> cb.call(r.load().queued.get(), node, r.model(), r.backend(), r.mode())))
                .register(registry);
        gpuGauge(registry, "llmrt_gpu_memory_total_bytes", "A GPU's memory", Gpu::total);
        gpuGauge(registry, "llmrt_gpu_memory_used_by_others_bytes",
                "GPU memory in use by processes that aren't this node's runners", Gpu::usedByOthers);
        gpuGauge(registry, "llmrt_gpu_memory_reserved_bytes", "GPU memory placement reserved for this node's runners",
                Gpu::reserved);
        gpuGauge(registry, "llmrt_gpu_memory_used_by_runners_bytes",
                "GPU memory this node's runners use, as nvidia-smi measures it", Gpu::usedByRunners);
    }

    private void gpuGauge(PrometheusRegistry registry, String name, String help, ToLongFunction<Gpu> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("node", "gpu", "name")
                .callback(cb -> gpus.forEach(g -> cb.call(value.applyAsLong(g), node, Integer.toString(g.index()), g.name())))
                .register(registry);
    }

    public void runnerReady(String model, String backend, String mode, long loadMillis) {
        loadTime.labelValues(node, model, backend, mode).observe(loadMillis / 1000.0);
    }

    public void runnerRestarted(String model, String backend, int times) {
        restarts.labelValues(node, model, backend).inc(times);
    }

    /** Reads every runner's own metrics for the next scrape (blocking reads on {@code io}). */
    public CompletionStage<Void> readRunners(Executor io) {
        return runnerMetrics.refresh(io);
    }

    public void evicted(String model) {
        evictions.labelValues(node, model).inc();
    }

    public void placed(String model, boolean placed) {
        placements.labelValues(node, model, placed ? "placed" : "refused").inc();
    }

    /** The runners now (the agent's snapshot; their load is read live). */
    public void runners(List<Runner> now) {
        runners = List.copyOf(now);
    }

    public void gpus(List<Gpu> now) {
        gpus = List.copyOf(now);
    }
}
