package dev.llmrt.runtime.gguf;

import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What model lists say of a GGUF model, read from its header: architecture, parameter count as model
 * cards write it ({@code 1.7B}), the most common tensor type ({@code Q4_K}) and trained context length.
 */
public record GgufSummary(String architecture, long parameterCount, String quantization, long contextLength) {

    public static GgufSummary of(GgufFile gguf) {
        long parameters = gguf.tensors().stream().mapToLong(GgufFile.TensorInfo::elements).sum();
        String quantization = gguf.tensors().stream()
                .collect(Collectors.groupingBy(GgufFile.TensorInfo::type, Collectors.summingLong(GgufFile.TensorInfo::elements)))
                .entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).map(GgmlType::name).orElse("");
        return new GgufSummary(gguf.architecture(), parameters, quantization, gguf.archLong("context_length").orElse(0L));
    }

    /** The parameter count as model cards write it: 135M, 1.7B ("" when unknown). */
    public String parameters() {
        return count(parameterCount);
    }

    /** A count as model cards write it: 135M, 1.7B. */
    public static String count(long n) {
        if (n <= 0) {
            return "";
        }
        if (n >= 1_000_000_000L) {
            return trim(n / 1e9) + "B";
        }
        if (n >= 1_000_000L) {
            return trim(n / 1e6) + "M";
        }
        return trim(n / 1e3) + "K";
    }

    /** A size as model-runner's configs write it: 1.02GB, 270.60MB. */
    public static String size(long bytes) {
        if (bytes >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2fGB", bytes / 1e9);
        }
        if (bytes >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.2fMB", bytes / 1e6);
        }
        return String.format(Locale.ROOT, "%.2fkB", bytes / 1e3);
    }

    private static String trim(double v) {
        String s = String.format(Locale.ROOT, "%.1f", v);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }
}
