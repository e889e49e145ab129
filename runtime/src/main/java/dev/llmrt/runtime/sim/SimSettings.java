package dev.llmrt.runtime.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The sim backend's speed, size and faults, given as its runtime flags ({@code --name=value} or
 * {@code --name value}). Unknown flags are refused with the flag's name, as for real backends.
 *
 * @param loadTimeMs   time until {@code /health} turns 200
 * @param ttftMs       time to first token
 * @param tpotMs       time per further token
 * @param maxSeqs      sequences generated at once; further requests queue
 * @param maxTokens    tokens generated when the request sets no {@code max_tokens}
 * @param embeddingDim length of embedding vectors
 * @param ramMb        RAM the model declares it needs
 * @param vramMb       VRAM the model declares it needs
 * @param failAtStart  if set, the process prints this and exits with code 1 at start
 * @param exitAfter    if non-negative, the process dies (code 3) on the request after this many
 * @param hang         if true, {@code /health} never turns 200
 */
public record SimSettings(double loadTimeMs, double ttftMs, double tpotMs, int maxSeqs, int maxTokens,
                          int embeddingDim, long ramMb, long vramMb, String failAtStart, long exitAfter,
                          boolean hang) {

    /** Every flag the sim takes, with what it means; the allowlist for its runtime flags. */
    public static final Map<String, String> FLAGS = new TreeMap<>(Map.ofEntries(
            Map.entry("--load-time-ms", "milliseconds until /health answers 200 (default 0)"),
            Map.entry("--ttft-ms", "milliseconds to the first token (default 0)"),
            Map.entry("--tpot-ms", "milliseconds per further token (default 0)"),
            Map.entry("--max-seqs", "sequences generated concurrently; more queue (default 4)"),
            Map.entry("--max-tokens", "tokens generated when a request sets no max_tokens (default 16)"),
            Map.entry("--embedding-dim", "embedding vector length (default 64)"),
            Map.entry("--ram-mb", "RAM the model declares, MiB (default 64)"),
            Map.entry("--vram-mb", "VRAM the model declares, MiB (default 0)"),
            Map.entry("--fail-at-start", "fault: print this reason and exit 1 at start"),
            Map.entry("--exit-after", "fault: die (exit 3) on the request after N requests"),
            Map.entry("--hang", "fault: never become healthy")));

    public static final SimSettings DEFAULT = new SimSettings(0, 0, 0, 4, 16, 64, 64, 0, null, -1, false);

    /** Parses runtime flags; throws {@link IllegalArgumentException} naming the flag and why. */
    public static SimSettings parse(List<String> flags) {
        Map<String, String> values = new TreeMap<>();
        for (int i = 0; i < flags.size(); i++) {
            String token = flags.get(i);
            if (!token.startsWith("--")) {
                throw new IllegalArgumentException("sim: unexpected value '" + token + "' without a flag");
            }
            String key = token;
            String value = null;
            int eq = token.indexOf('=');
            if (eq > 0) {
                key = token.substring(0, eq);
                value = token.substring(eq + 1);
            }
            if (!FLAGS.containsKey(key)) {
                throw new IllegalArgumentException("sim: runtime flag '" + key + "' is not allowed (allowed: "
                        + String.join(", ", FLAGS.keySet()) + ")");
            }
            if (value == null && !key.equals("--hang")) {
                if (i + 1 >= flags.size() || flags.get(i + 1).startsWith("--")) {
                    throw new IllegalArgumentException("sim: runtime flag '" + key + "' needs a value");
                }
                value = flags.get(++i);
            }
            values.put(key, value == null ? "true" : value);
        }
        SimSettings d = DEFAULT;
        return new SimSettings(
                number(values, "--load-time-ms", d.loadTimeMs),
                number(values, "--ttft-ms", d.ttftMs),
                number(values, "--tpot-ms", d.tpotMs),
                (int) positive(values, "--max-seqs", d.maxSeqs),
                (int) positive(values, "--max-tokens", d.maxTokens),
                (int) positive(values, "--embedding-dim", d.embeddingDim),
                (long) number(values, "--ram-mb", d.ramMb),
                (long) number(values, "--vram-mb", d.vramMb),
                values.get("--fail-at-start"),
                (long) number(values, "--exit-after", d.exitAfter),
                Boolean.parseBoolean(values.getOrDefault("--hang", "false")));
    }

    /** These settings as flags again, for the sim process's command line. */
    public List<String> toFlags() {
        List<String> out = new ArrayList<>(List.of(
                "--load-time-ms=" + loadTimeMs, "--ttft-ms=" + ttftMs, "--tpot-ms=" + tpotMs,
                "--max-seqs=" + maxSeqs, "--max-tokens=" + maxTokens, "--embedding-dim=" + embeddingDim,
                "--ram-mb=" + ramMb, "--vram-mb=" + vramMb, "--exit-after=" + exitAfter));
        if (failAtStart != null) {
            out.add("--fail-at-start=" + failAtStart);
        }
        if (hang) {
            out.add("--hang");
        }
        return out;
    }

    private static double number(Map<String, String> values, String key, double fallback) {
        String v = values.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            double d = Double.parseDouble(v);
            if (Double.isNaN(d) || Double.isInfinite(d) || (d < 0 && !key.equals("--exit-after"))) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sim: runtime flag '" + key + "' wants a non-negative number, got '" + v + "'");
        }
    }

    private static double positive(Map<String, String> values, String key, double fallback) {
        double d = number(values, key, fallback);
        if (d < 1) {
            throw new IllegalArgumentException("sim: runtime flag '" + key + "' must be at least 1");
        }
        return d;
    }
}
