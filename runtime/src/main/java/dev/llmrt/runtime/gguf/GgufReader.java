package dev.llmrt.runtime.gguf;

import dev.llmrt.runtime.spi.GgufParseException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GGUF header (versions 2 and 3, little-endian) without touching tensor data. Every
 * length and count in the file is checked against the bytes that remain before anything is
 * allocated, so a hostile header fails fast, in memory bounded by the file's size. The layout
 * follows ggml's {@code gguf.cpp}: magic, version, tensor count, KV count, KVs, tensor infos.
 */
public final class GgufReader {
    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final long DEFAULT_ALIGNMENT = 32;
    /** GGML_MAX_DIMS */
    public static final int MAX_DIMS = 4;
    /** gguf.cpp refuses keys longer than this too. */
    public static final int MAX_KEY_BYTES = 65_535;
    public static final int MAX_ARRAY_DEPTH = 8;

    // value types (gguf_type)
    static final int UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
            STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12;

    private final In in;

    private GgufReader(InputStream stream, long size) {
        this.in = new In(stream, size);
    }

    public static GgufFile read(Path path) throws GgufParseException {
        try (InputStream stream = new BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
            return new GgufReader(stream, Files.size(path)).readHeader();
        } catch (GgufParseException e) {
            throw new GgufParseException(path.getFileName() + ": " + rawMessage(e));
        } catch (IOException e) {
            throw new GgufParseException(path.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /** Reads from a stream of {@code size} bytes (the bound for every length in the header). */
    public static GgufFile read(InputStream stream, long size) throws GgufParseException {
        try {
            return new GgufReader(stream, size).readHeader();
        } catch (IOException e) {
            throw new GgufParseException(e.getMessage(), e);
        }
    }

    private static String rawMessage(GgufParseException e) {
        return e.getMessage().replaceFirst("^failed to parse GGUF: ", "");
    }

    private GgufFile readHeader() throws IOException, GgufParseException {
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw new GgufParseException(String.format("not a GGUF file: magic 0x%08x, expected 0x%08x ('GGUF')", magic, MAGIC));
        }
        int version = in.i32("version");
        if (version != 2 && version != 3) {
            if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                throw new GgufParseException("big-endian GGUF files are not supported");
            }
            throw new GgufParseException("unsupported GGUF version " + Integer.toUnsignedString(version) + " (supported: 2, 3)");
        }
        long tensorCount = in.i64("tensor count");
        long kvCount = in.i64("metadata count");
        // the smallest KV is 13 bytes (key length, 1-byte key, type, 1-byte value)... a tensor info 29
        check(kvCount, 13, "metadata count");
        check(tensorCount, 29, "tensor count");

        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = in.position;
            String key = in.string("key of metadata entry " + i, MAX_KEY_BYTES);
            int type = in.i32("type of '" + key + "'");
            Object value = value(type, key, 0);
            if (metadata.put(key, value) != null) {
                throw new GgufParseException("duplicate metadata key '" + key + "' at offset " + at);
            }
        }
        long alignment = DEFAULT_ALIGNMENT;
        Object a = metadata.get("general.alignment");
        if (a != null) {
            if (!(a instanceof Long n) || n <= 0 || Long.bitCount(n) != 1) {
                throw new GgufParseException("general.alignment must be a positive power of two, got " + a);
            }
            alignment = (Long) a;
        }

        List<GgufFile.TensorInfo> tensors = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("name of tensor " + i, MAX_KEY_BYTES);
            int nDims = in.i32("dimension count of tensor '" + name + "'");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new GgufParseException("tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                        + " dimensions (1.." + MAX_DIMS + " allowed)");
            }
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.i64("dimension " + d + " of tensor '" + name + "'");
                if (dims[d] < 0) {
                    throw new GgufParseException("tensor '" + name + "' has a negative dimension " + dims[d]);
                }
                try {
                    elements = Math.multiplyExact(elements, dims[d]);
                } catch (ArithmeticException e) {
                    throw new GgufParseException("tensor '" + name + "' has more elements than fit in 64 bits");
                }
            }
            int typeId = in.i32("type of tensor '" + name + "'");
            GgmlType type = GgmlType.byId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw new GgufParseException("tensor '" + name + "' has unknown ggml type id " + Integer.toUnsignedString(typeId));
            }
            if (elements % type.blockSize != 0 || dims[0] % type.blockSize != 0) {
                throw new GgufParseException("tensor '" + name + "' row of " + dims[0] + " elements is not a multiple of "
                        + type + "'s block size " + type.blockSize);
            }
            long offset = in.i64("offset of tensor '" + name + "'");
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufParseException("tensor '" + name + "' offset " + offset + " is not aligned to " + alignment);
            }
            tensors.add(new GgufFile.TensorInfo(name, dims, type, offset));
        }
        long dataOffset = (in.position + alignment - 1) / alignment * alignment;
        return new GgufFile(version, Collections.unmodifiableMap(metadata), List.copyOf(tensors), alignment, dataOffset);
    }

    private void check(long count, long minBytesEach, String what) throws GgufParseException {
        long remaining = in.remaining();
        if (count < 0 || count > remaining / minBytesEach) {
            throw new GgufParseException(what + " " + Long.toUnsignedString(count) + " can't fit in the "
                    + remaining + " bytes left in the file");
        }
    }

    private Object value(int type, String key, int depth) throws IOException, GgufParseException {
        switch (type) {
            case UINT8: return (long) in.u8("'" + key + "'");
            case INT8: return (long) (byte) in.u8("'" + key + "'");
            case UINT16: return (long) in.u16("'" + key + "'");
            case INT16: return (long) (short) in.u16("'" + key + "'");
            case UINT32: return Integer.toUnsignedLong(in.i32("'" + key + "'"));
            case INT32: return (long) in.i32("'" + key + "'");
            case FLOAT32: return Float.intBitsToFloat(in.i32("'" + key + "'"));
            case BOOL: {
                int b = in.u8("'" + key + "'");
                if (b > 1) {
                    throw new GgufParseException("'" + key + "' is a bool with value " + b);
                }
                return b == 1;
            }
            case STRING: return in.string("'" + key + "'", Integer.MAX_VALUE);
            case UINT64, INT64: return in.i64("'" + key + "'");
            case FLOAT64: return Double.longBitsToDouble(in.i64("'" + key + "'"));
            case ARRAY: {
                if (depth >= MAX_ARRAY_DEPTH) {
                    throw new GgufParseException("'" + key + "' nests arrays deeper than " + MAX_ARRAY_DEPTH);
                }
                int elementType = in.i32("element type of '" + key + "'");
                long count = in.i64("length of '" + key + "'");
                int minBytes = minBytes(elementType, key);
                check(count, minBytes, "length of array '" + key + "'");
                List<Object> values = new ArrayList<>((int) Math.min(count, 1 << 16));
                for (long i = 0; i < count; i++) {
                    values.add(value(elementType, key, depth + 1));
                }
                return new GgufFile.GgufArray(elementType, Collections.unmodifiableList(values));
            }
            default:
                throw new GgufParseException("unknown metadata value type " + Integer.toUnsignedString(type) + " for '"
                        + key + "' at offset " + (in.position - 4));
        }
    }

    private static int minBytes(int type, String key) throws GgufParseException {
        return switch (type) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32, FLOAT32 -> 4;
            case UINT64, INT64, FLOAT64, STRING -> 8;
            case ARRAY -> 12;
            default -> throw new GgufParseException("array '" + key + "' has unknown element type "
                    + Integer.toUnsignedString(type));
        };
    }

    /** Little-endian reads that know how many bytes remain. */
    private static final class In {
        private final InputStream stream;
        private final long size;
        private long position;
        private final byte[] scratch = new byte[8];

        In(InputStream stream, long size) {
            this.stream = stream;
            this.size = size;
        }

        long remaining() {
            return size - position;
        }

        private void fill(byte[] b, int n, String what) throws IOException, GgufParseException {
            if (n > remaining()) {
                throw new GgufParseException("file ends at byte " + size + " inside the header, reading " + what);
            }
            int off = 0;
            while (off < n) {
                int r = stream.read(b, off, n - off);
                if (r < 0) {
                    throw new GgufParseException("file ends at byte " + (position + off) + " inside the header, reading " + what);
                }
                off += r;
            }
            position += n;
        }

        int u8(String what) throws IOException, GgufParseException {
            fill(scratch, 1, what);
            return scratch[0] & 0xff;
        }

        int u16(String what) throws IOException, GgufParseException {
            fill(scratch, 2, what);
            return (scratch[0] & 0xff) | (scratch[1] & 0xff) << 8;
        }

        int i32(String what) throws IOException, GgufParseException {
            fill(scratch, 4, what);
            return (scratch[0] & 0xff) | (scratch[1] & 0xff) << 8 | (scratch[2] & 0xff) << 16 | (scratch[3] & 0xff) << 24;
        }

        long i64(String what) throws IOException, GgufParseException {
            fill(scratch, 8, what);
            long v = 0;
            for (int i = 7; i >= 0; i--) {
                v = v << 8 | (scratch[i] & 0xff);
            }
            return v;
        }

        String string(String what, int maxBytes) throws IOException, GgufParseException {
            long length = i64("length of " + what);
            if (length < 0 || length > remaining()) {
                throw new GgufParseException("string " + what + " claims " + Long.toUnsignedString(length)
                        + " bytes but " + remaining() + " remain in the file");
            }
            if (length > maxBytes) {
                throw new GgufParseException(what + " is " + length + " bytes long (at most " + maxBytes + ")");
            }
            byte[] bytes = new byte[(int) length];
            fill(bytes, bytes.length, what);
            return new String(bytes, StandardCharsets.UTF_8); // like gguf.cpp, no UTF-8 validation
        }
    }
}
