package dev.llmrt.agent;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import dev.llmrt.agent.model.ModelSpec;
import dev.llmrt.runtime.spi.BackendConfiguration;
import dev.llmrt.agent.runner.io.RunnerHttpClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Everything tunable about a node agent and its runners, read once from {@code llmrt.agent}. */
public record AgentSettings(Path socketDir, Duration defaultKeepAlive, int maxPendingRequests,
                           Readiness readiness, Backoff restartBackoff, Client client, String backendRunDispatcher,
                           Duration inventoryRefresh, Duration capacityPublishInterval, int calibrationWindow,
                           Duration statusTimeout, Map<String, List<String>> extraRuntimeFlags,
                           Duration loadPublishInterval, HealthCheck healthCheck) {

    /** The model as this node runs it: with the runtime flags this node adds to it, if any. */
    public ModelSpec onThisNode(ModelSpec spec) {
        List<String> extra = extraRuntimeFlags.get(spec.name());
        if (extra == null || extra.isEmpty()) {
            return spec;
        }
        List<String> flags = new ArrayList<>(spec.config().runtimeFlags());
        flags.addAll(extra);
        BackendConfiguration c = spec.config();
        return new ModelSpec(spec.name(), spec.backend(), spec.model(),
                new BackendConfiguration(c.contextSize(), flags, c.speculative()), spec.keepAliveMillis());
    }

    /** Polling {@code /health} after start: quick at first, then slower, up to a deadline. */
    public record Readiness(Duration initialInterval, Duration maxInterval, double factor, Duration timeout) {
        public Duration next(Duration current) {
            long next = (long) (current.toNanos() * factor);
            return Duration.ofNanos(Math.min(next, maxInterval.toNanos()));
        }
    }

    /**
     * Ready runners are asked {@code GET /health} every {@code interval}; one that doesn't answer 200
     * within {@code timeout}, {@code failures} times in a row (after a failure the next check follows
     * at once), is hung: killed and restarted. A stream that sends nothing for {@code streamIdle} ends
     * with an error and has its runner checked at once.
     */
    public record HealthCheck(Duration interval, Duration timeout, int failures, Duration streamIdle) {
        /** The longest a hang goes unnoticed: a check's wait, then every failing check's timeout. */
        public Duration detection() {
            return interval.plus(timeout.multipliedBy(failures));
        }
    }

    /** Restart delay after a runner's process exits: min × 2^(failures-1), capped at max. */
    public record Backoff(Duration min, Duration max) {
        public Duration delay(int consecutiveFailures) {
            long factor = 1L << Math.min(Math.max(consecutiveFailures - 1, 0), 30);
            long nanos = min.toNanos() * factor;
            return nanos <= 0 || nanos > max.toNanos() ? max : Duration.ofNanos(nanos);
        }
    }

    /**
     * The HTTP client that talks to runners over their Unix sockets: its limits, and the dispatcher
     * readiness probes block on.
     */
    public record Client(RunnerHttpClient.Limits limits, String probeDispatcher) {}

    public static AgentSettings fromConfig(Config root) {
        Config c = root.getConfig("llmrt.agent");
        Path socketDir;
        try {
            String dir = c.getString("socket-dir");
            socketDir = dir.isEmpty() ? Files.createTempDirectory("llmrt-") : Files.createDirectories(Path.of(dir));
        } catch (IOException e) {
            throw new UncheckedIOException("llmrt.agent.socket-dir: " + e.getMessage(), e);
        }
        return new AgentSettings(
                socketDir,
                c.getDuration("default-keep-alive"),
                c.getInt("max-pending-requests"),
                new Readiness(c.getDuration("readiness.initial-interval"), c.getDuration("readiness.max-interval"),
                        c.getDouble("readiness.factor"), c.getDuration("readiness.timeout")),
                new Backoff(c.getDuration("restart-backoff.min"), c.getDuration("restart-backoff.max")),
                new Client(new RunnerHttpClient.Limits(c.getInt("runner-client.max-connections"),
                        c.getInt("runner-client.max-waiting"), c.getBytes("runner-client.max-response-bytes"),
                        c.getBytes("runner-client.max-head-bytes").intValue(),
                        c.getBytes("runner-client.stream-buffer.high"), c.getBytes("runner-client.stream-buffer.low")),
                        "llmrt.agent.runner-probe-dispatcher"),
                "llmrt.agent.backend-run-dispatcher",
                c.getDuration("inventory-refresh"),
                c.getDuration("capacity-publish-interval"),
                c.getInt("calibration-window"),
                c.getDuration("status-timeout"),
                extraFlags(c.getObject("extra-runtime-flags").toConfig()),
                c.getDuration("load-publish-interval"),
                new HealthCheck(c.getDuration("health-check.interval"), c.getDuration("health-check.timeout"),
                        c.getInt("health-check.failures"), c.getDuration("health-check.stream-idle-timeout")));
    }

    private static Map<String, List<String>> extraFlags(Config byModel) {
        Map<String, List<String>> out = new HashMap<>();
        byModel.root().keySet().forEach(model -> out.put(model, byModel.getStringList(ConfigUtil.quoteString(model))));
        return Map.copyOf(out);
    }
}
