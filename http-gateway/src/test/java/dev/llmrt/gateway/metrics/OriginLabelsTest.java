package dev.llmrt.gateway.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** X-Request-Origin can't make a metric series per value: the first few distinct ones, then "other". */
class OriginLabelsTest {
    @Test
    void originLabelsComeFromABoundedSet() {
        PrometheusRegistry registry = new PrometheusRegistry();
        GatewayMetrics metrics = new GatewayMetrics(registry);
        metrics.answered("m", "/v1/chat/completions", 200, "ollama/completion", System.nanoTime());
        for (int i = 0; i < 1000; i++) {
            metrics.answered("m", "/v1/chat/completions", 200, "client-" + i, System.nanoTime());
        }
        metrics.answered("m", "/v1/chat/completions", 200, "not a label value!", System.nanoTime());
        Set<String> origins = new HashSet<>();
        for (MetricSnapshot s : registry.scrape()) {
            if (s instanceof CounterSnapshot c && c.getMetadata().getName().equals("llmrt_requests")) {
                c.getDataPoints().forEach(d -> origins.add(d.getLabels().get("origin")));
            }
        }
        assertTrue(origins.contains("ollama/completion"), origins.toString());
        assertTrue(origins.contains("other"), origins.toString());
        assertEquals(GatewayMetrics.MAX_ORIGINS + 1, origins.size(), "at most the first distinct origins and 'other'");
    }
}
