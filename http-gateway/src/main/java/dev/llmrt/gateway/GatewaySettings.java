package dev.llmrt.gateway;

import com.typesafe.config.Config;
import dev.llmrt.gateway.security.ApiKeys;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** The gateway's tunables, read once from {@code llmrt.gateway}. */
public record GatewaySettings(String host, int port, long maxBodyBytes, Duration responseTimeout,
                              Duration bodyReadTimeout, Duration idleTimeout, long parserMaxContentLength,
                              Duration drainTimeout, Duration statusTimeout, String affinityHeader,
                              Duration statusEventsInterval, int statusEventsKept, int recordedPerModel,
                              int recordedBodyBytes, List<String> corsOrigins, RequestPeek.Limits validation,
                              ApiKeys apiKeys, String tlsCertFile, String tlsKeyFile, int maxConnectionsPerClient) {
    /** HTTPS when both PEM files are named. */
    public boolean https() {
        return !tlsCertFile.isBlank() && !tlsKeyFile.isBlank();
    }

    public static GatewaySettings fromConfig(Config root) {
        Config c = root.getConfig("llmrt.gateway");
        return new GatewaySettings(c.getString("host"), c.getInt("port"), c.getBytes("max-body-bytes"),
                c.getDuration("response-timeout"), c.getDuration("body-read-timeout"), c.getDuration("idle-timeout"),
                Math.max(c.getBytes("parser-max-content-length"), c.getBytes("max-body-bytes")),
                c.getDuration("drain-timeout"), c.getDuration("status-timeout"), c.getString("affinity-header"),
                c.getDuration("status-events-interval"), c.getInt("status-events-kept"),
                c.getInt("recorder.requests-per-model"), c.getBytes("recorder.max-body-bytes").intValue(),
                Arrays.stream(c.getString("cors-origins").split(",")).map(String::strip).filter(o -> !o.isEmpty()).toList(),
                new RequestPeek.Limits(c.getInt("validation.max-depth"), c.getInt("validation.max-fields"),
                        c.getLong("validation.max-tokens"), c.getInt("validation.max-choices")),
                ApiKeys.fromConfig(c), c.getString("tls.cert-file"), c.getString("tls.key-file"),
                c.getInt("max-connections-per-client"));
    }
}
