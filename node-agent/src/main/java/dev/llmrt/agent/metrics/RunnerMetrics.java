package dev.llmrt.agent.metrics;

import dev.llmrt.runtime.process.SocketGet;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Exemplars;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.PrometheusNaming;
import io.prometheus.metrics.model.snapshots.Quantile;
import io.prometheus.metrics.model.snapshots.Quantiles;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import io.prometheus.metrics.model.snapshots.UnknownSnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each runner's own metrics (llama-server's and the sim's {@code /metrics}, vLLM's) re-exported in
 * the node's {@code /metrics}, every series with {@code node}, {@code model}, {@code backend} and
 * {@code mode} labels, as model-runner re-exports its llama-servers'. {@link #refresh} reads every
 * runner at once just before a scrape; a runner that doesn't answer in time is left out of it.
 * Series of the same name from several runners become one family.
 */
public final class RunnerMetrics implements MultiCollector {
    private static final Logger log = LoggerFactory.getLogger(RunnerMetrics.class);
    private static final List<String> OURS = List.of("node", "model", "backend", "mode");

    /** A runner to read: where its socket is, and the labels its series get. */
    public record Source(String model, String backend, String mode, Path socket) {}

    /** @param timeout how long one runner may take to answer; @param maxBytes the most read from one */
    public record Settings(Duration timeout, int maxBytes) {}

    private record Scraped(Source source, List<PrometheusText.Family> families) {}

    private final String node;
    private final Supplier<List<Source>> runners;
    private final Settings settings;
    private volatile List<Scraped> latest = List.of();

    public RunnerMetrics(String node, Supplier<List<Source>> runners, Settings settings) {
        this.node = node;
        this.runners = runners;
        this.settings = settings;
    }

    /** Reads every runner's metrics (blocking reads, on {@code io}); completes when all answered or gave up. */
    public CompletionStage<Void> refresh(Executor io) {
        List<CompletableFuture<Scraped>> reads = new ArrayList<>();
        for (Source s : runners.get()) {
            reads.add(CompletableFuture.supplyAsync(() -> read(s), io));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenRun(() ->
                latest = reads.stream().map(CompletableFuture::join).filter(Objects::nonNull).toList());
    }

    private Scraped read(Source s) {
        try {
            byte[] body = SocketGet.get(s.socket(), "/metrics", settings.timeout(), settings.maxBytes());
            return new Scraped(s, PrometheusText.parse(new String(body, StandardCharsets.UTF_8)));
        } catch (IOException | RuntimeException e) {
            log.debug("runner metrics of {} ({}) not read: {}", s.model(), s.socket(), e.toString());
            return null;
        }
    }

    @Override
    public MetricSnapshots collect() {
        Map<String, Merged> byName = new LinkedHashMap<>();
        for (Scraped scraped : latest) {
            for (PrometheusText.Family f : scraped.families()) {
                String name = f.type().equals("counter") && f.name().endsWith("_total")
                        ? f.name().substring(0, f.name().length() - "_total".length()) : f.name();
                Merged m = byName.computeIfAbsent(name, n -> new Merged(n, f.type(), f.help()));
                if (m.type.equals(f.type())) {
                    m.add(f, scraped.source());
                }
            }
        }
        List<MetricSnapshot> out = new ArrayList<>();
        for (Merged m : byName.values()) {
            try {
                out.add(m.snapshot());
            } catch (IllegalArgumentException e) {
                log.debug("runner metric {} not re-exported: {}", m.name, e.getMessage());
            }
        }
        return new MetricSnapshots(out);
    }

    /** The labels of a runner's sample: ours first, then its own (renamed {@code exported_x} where they clash). */
    private Labels labels(Source s, Map<String, String> own) {
        Map<String, String> all = new TreeMap<>();
        all.put("node", node);
        all.put("model", s.model());
        all.put("backend", s.backend());
        all.put("mode", s.mode());
        own.forEach((k, v) -> all.put(PrometheusNaming.sanitizeLabelName(OURS.contains(k) ? "exported_" + k : k), v));
        return Labels.of(all.keySet().toArray(String[]::new), all.values().toArray(String[]::new));
    }

    /** One family's data points from every runner. */
    private final class Merged {
        final String name;
        final String type;
        final String help;
        final List<CounterSnapshot.CounterDataPointSnapshot> counters = new ArrayList<>();
        final List<GaugeSnapshot.GaugeDataPointSnapshot> gauges = new ArrayList<>();
        final List<HistogramSnapshot.HistogramDataPointSnapshot> histograms = new ArrayList<>();
        final List<SummarySnapshot.SummaryDataPointSnapshot> summaries = new ArrayList<>();
        final List<UnknownSnapshot.UnknownDataPointSnapshot> unknowns = new ArrayList<>();

        Merged(String name, String type, String help) {
            this.name = name;
            this.type = type;
            this.help = help;
        }

        void add(PrometheusText.Family f, Source s) {
            switch (type) {
                case "counter" -> f.samples().stream().filter(x -> !x.name().endsWith("_created")).forEach(x ->
                        counters.add(new CounterSnapshot.CounterDataPointSnapshot(x.value(), labels(s, x.labels()), null, 0)));
                case "gauge" -> f.samples().forEach(x ->
                        gauges.add(new GaugeSnapshot.GaugeDataPointSnapshot(x.value(), labels(s, x.labels()), null)));
                case "histogram" -> addHistograms(f, s);
                case "summary" -> addSummaries(f, s);
                default -> f.samples().forEach(x ->
                        unknowns.add(new UnknownSnapshot.UnknownDataPointSnapshot(x.value(), labels(s, x.labels()), null)));
            }
        }

        /** Buckets are cumulative in the text and per bucket in the model. */
        private void addHistograms(PrometheusText.Family f, Source s) {
            Map<Map<String, String>, Series> series = new LinkedHashMap<>();
            for (PrometheusText.Sample x : f.samples()) {
                Map<String, String> key = new TreeMap<>(x.labels());
                key.remove("le");
                Series one = series.computeIfAbsent(key, k -> new Series());
                if (x.name().endsWith("_bucket") && x.labels().containsKey("le")) {
                    one.bounds.add(Double.parseDouble(x.labels().get("le").replace("+Inf", "Infinity")));
                    one.cumulative.add((long) x.value());
                } else if (x.name().endsWith("_sum")) {
                    one.sum = x.value();
                }
            }
            series.forEach((key, one) -> {
                long[] counts = new long[one.bounds.size()];
                for (int i = 0; i < counts.length; i++) {
                    counts[i] = one.cumulative.get(i) - (i == 0 ? 0 : one.cumulative.get(i - 1));
                }
                double[] bounds = one.bounds.stream().mapToDouble(Double::doubleValue).toArray();
                histograms.add(new HistogramSnapshot.HistogramDataPointSnapshot(ClassicHistogramBuckets.of(bounds, counts),
                        one.sum, labels(s, key), Exemplars.EMPTY, 0));
            });
        }

        private void addSummaries(PrometheusText.Family f, Source s) {
            Map<Map<String, String>, Series> series = new LinkedHashMap<>();
            for (PrometheusText.Sample x : f.samples()) {
                Map<String, String> key = new TreeMap<>(x.labels());
                key.remove("quantile");
                Series one = series.computeIfAbsent(key, k -> new Series());
                if (x.name().endsWith("_sum")) {
                    one.sum = x.value();
                } else if (x.name().endsWith("_count")) {
                    one.count = (long) x.value();
                } else if (x.labels().containsKey("quantile")) {
                    one.quantiles.add(new Quantile(Double.parseDouble(x.labels().get("quantile")), x.value()));
                }
            }
            series.forEach((key, one) -> summaries.add(new SummarySnapshot.SummaryDataPointSnapshot(one.count, one.sum,
                    Quantiles.of(one.quantiles.toArray(Quantile[]::new)), labels(s, key), Exemplars.EMPTY, 0)));
        }

        MetricSnapshot snapshot() {
            MetricMetadata meta = new MetricMetadata(name, help.isEmpty() ? null : help);
            return switch (type) {
                case "counter" -> new CounterSnapshot(meta, counters);
                case "gauge" -> new GaugeSnapshot(meta, gauges);
                case "histogram" -> new HistogramSnapshot(meta, histograms);
                case "summary" -> new SummarySnapshot(meta, summaries);
                default -> new UnknownSnapshot(meta, unknowns);
            };
        }
    }

    private static final class Series {
        final List<Double> bounds = new ArrayList<>();
        final List<Long> cumulative = new ArrayList<>();
        final List<Quantile> quantiles = new ArrayList<>();
        double sum;
        long count;
    }
}
