package dev.llmrt.runtime.gguf;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF header: metadata in file order and tensor infos. Values are Java objects: unsigned and
 * signed integers as {@link Long} (uint64 above 2^63 wraps, as in Java), floats as {@link Float}
 * and {@link Double}, {@link Boolean}, {@link String}, and arrays as {@link GgufArray}.
 *
 * @param dataOffset where tensor data starts: the header's end, aligned to {@code general.alignment}
 */
public record GgufFile(int version, Map<String, Object> metadata, List<TensorInfo> tensors, long alignment,
                       long dataOffset) {

    /** An array value: its element type id and its elements (nested arrays are {@code GgufArray} too). */
    public record GgufArray(int elementType, List<Object> values) {}

    /** A tensor's name, dimensions (innermost first, as in the file), type and offset into the data. */
    public record TensorInfo(String name, long[] dims, GgmlType type, long offset) {
        public long elements() {
            long n = 1;
            for (long d : dims) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        public long bytes() {
            return type.bytes(elements());
        }
    }

    public Optional<Object> get(String key) {
        return Optional.ofNullable(metadata.get(key));
    }

    public Optional<String> getString(String key) {
        return get(key).filter(String.class::isInstance).map(String.class::cast);
    }

    /** An integer value of any width. */
    public Optional<Long> getLong(String key) {
        return get(key).filter(Number.class::isInstance).map(Number.class::cast)
                .filter(n -> !(n instanceof Float || n instanceof Double)).map(Number::longValue);
    }

    public Optional<Double> getDouble(String key) {
        return get(key).filter(Number.class::isInstance).map(n -> ((Number) n).doubleValue());
    }

    /** {@code general.architecture}, the prefix of the model's own keys (e.g. {@code llama}). */
    public String architecture() {
        return getString("general.architecture").orElse("llama");
    }

    /** An architecture key such as {@code llama.block_count}. */
    public Optional<Long> archLong(String suffix) {
        return getLong(architecture() + "." + suffix);
    }

    public long tensorBytes() {
        return tensors.stream().mapToLong(TensorInfo::bytes).sum();
    }
}
