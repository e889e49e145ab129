package dev.llmrt.agent.model;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long an idle runner stays loaded, in model-runner's and Ollama's forms: Go durations
 * ({@code "5m"}, {@code "5m0s"}, {@code "1h30m"}, {@code "1.5s"}), {@code "0"} (unload after the last
 * request), any negative value (never unload); HOCON durations ({@code "10 minutes"}) too, for the
 * catalog. Values are milliseconds; negative means never.
 */
public final class KeepAlive {
    /** One Go duration term: a decimal number and its unit. */
    private static final Pattern TERM = Pattern.compile("([0-9]*\\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)");

    private KeepAlive() {}

    /** Parses a keep-alive; throws {@link IllegalArgumentException} saying which forms it takes. */
    public static long parseMillis(String value) {
        String v = value.trim();
        if (v.startsWith("-")) {
            return -1;
        }
        if (v.equals("0")) {
            return 0;
        }
        Long go = goDurationMillis(v);
        if (go != null) {
            return go;
        }
        try {
            return ConfigFactory.parseString("d = \"" + v.replace("\"", "") + "\"").getDuration("d").toMillis();
        } catch (ConfigException e) {
            throw new IllegalArgumentException("keep-alive '" + value + "' is not a duration like 5m, 1h30m, 0 or -1");
        }
    }

    /** Go's {@code time.ParseDuration} for non-negative values, to milliseconds; null if {@code v} isn't one. */
    static Long goDurationMillis(String v) {
        if (v.isEmpty()) {
            return null;
        }
        Matcher m = TERM.matcher(v);
        BigDecimal nanos = BigDecimal.ZERO;
        int at = 0;
        while (at < v.length()) {
            if (!m.find(at) || m.start() != at) {
                return null;
            }
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs", "μs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            nanos = nanos.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit)));
            at = m.end();
        }
        return nanos.divideToIntegralValue(BigDecimal.valueOf(1_000_000L)).longValueExact();
    }

    /** As model-runner writes it: Go's {@code Duration.String()} ({@code "5m0s"}), or {@code "-1"} for never. */
    public static String format(long millis) {
        if (millis < 0) {
            return "-1";
        }
        if (millis == 0) {
            return "0s";
        }
        if (millis < 1000) {
            return millis + "ms";
        }
        long h = millis / 3_600_000;
        long m = millis / 60_000 % 60;
        long rest = millis % 60_000;
        String s = BigDecimal.valueOf(rest, 3).stripTrailingZeros().toPlainString() + "s";
        if (h > 0) {
            return h + "h" + m + "m" + s;
        }
        return m > 0 ? m + "m" + s : s;
    }
}
