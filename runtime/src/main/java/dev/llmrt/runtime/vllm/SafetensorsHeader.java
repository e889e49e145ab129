package dev.llmrt.runtime.vllm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the tensor table of a {@code .safetensors} file: an 8-byte little-endian header length,
 * then that many bytes of JSON ({@code {name: {dtype, shape, data_offsets}}}). The weights are
 * never read. The length is checked against the file size and a cap before anything is allocated.
 */
public final class SafetensorsHeader {
    /** The format's own limit on the header (safetensors refuses larger ones). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsHeader() {}

    /** Bytes of all tensors the header lists. */
    public static long tensorBytes(Path file) throws IOException {
        long size = Files.size(file);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] len = in.readNBytes(8);
            if (len.length < 8) {
                throw new IOException(file.getFileName() + ": shorter than a safetensors header length");
            }
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n < 2 || n > MAX_HEADER_BYTES || n > size - 8) {
                throw new IOException(file.getFileName() + ": safetensors header claims " + Long.toUnsignedString(n)
                        + " bytes (file has " + size + ", limit " + MAX_HEADER_BYTES + ")");
            }
            JsonNode header = JSON.readTree(in.readNBytes((int) n));
            if (header == null || !header.isObject()) {
                throw new IOException(file.getFileName() + ": safetensors header is not a JSON object");
            }
            long total = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                long elements = 1;
                for (JsonNode d : e.getValue().path("shape")) {
                    elements = Math.multiplyExact(elements, d.asLong());
                }
                total = Math.addExact(total, Math.multiplyExact(elements, dtypeBytes(e.getValue().path("dtype").asText(), e.getKey())));
            }
            return total;
        } catch (ArithmeticException e) {
            throw new IOException(file.getFileName() + ": tensor sizes overflow 64 bits");
        }
    }

    /** Bytes per element of a safetensors dtype. */
    public static long dtypeBytes(String dtype, String tensor) throws IOException {
        return switch (dtype.toUpperCase(Locale.ROOT)) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "F8_E4M3", "F8_E5M2", "I8", "U8", "BOOL" -> 1;
            default -> throw new IOException("tensor '" + tensor + "' has unknown dtype '" + dtype + "'");
        };
    }
}
