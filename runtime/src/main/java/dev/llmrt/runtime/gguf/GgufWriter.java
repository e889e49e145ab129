package dev.llmrt.runtime.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files: typed metadata and F32/F16 tensors, padded to {@code general.alignment}
 * as gguf.cpp expects. Dimensions are given innermost first, as the file stores them.
 */
public final class GgufWriter {

    /** A metadata value with its GGUF type id. Arrays hold a list of values of one element type. */
    public record Value(int type, Object payload) {
        public static Value u8(int v) { return new Value(GgufReader.UINT8, (long) v); }
        public static Value i8(int v) { return new Value(GgufReader.INT8, (long) v); }
        public static Value u16(int v) { return new Value(GgufReader.UINT16, (long) v); }
        public static Value i16(int v) { return new Value(GgufReader.INT16, (long) v); }
        public static Value u32(long v) { return new Value(GgufReader.UINT32, v); }
        public static Value i32(long v) { return new Value(GgufReader.INT32, v); }
        public static Value u64(long v) { return new Value(GgufReader.UINT64, v); }
        public static Value i64(long v) { return new Value(GgufReader.INT64, v); }
        public static Value f32(float v) { return new Value(GgufReader.FLOAT32, v); }
        public static Value f64(double v) { return new Value(GgufReader.FLOAT64, v); }
        public static Value bool(boolean v) { return new Value(GgufReader.BOOL, v); }
        public static Value string(String v) { return new Value(GgufReader.STRING, v); }

        public static Value array(int elementType, List<Value> values) {
            return new Value(GgufReader.ARRAY, new Object[] {elementType, List.copyOf(values)});
        }

        public static Value strings(List<String> values) {
            return array(GgufReader.STRING, values.stream().map(Value::string).toList());
        }

        public static Value floats(float[] values) {
            List<Value> out = new ArrayList<>(values.length);
            for (float f : values) {
                out.add(f32(f));
            }
            return array(GgufReader.FLOAT32, out);
        }

        public static Value ints(int[] values) {
            List<Value> out = new ArrayList<>(values.length);
            for (int i : values) {
                out.add(i32(i));
            }
            return array(GgufReader.INT32, out);
        }
    }

    private record Tensor(String name, long[] dims, GgmlType type, float[] data) {}

    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private long alignment = GgufReader.DEFAULT_ALIGNMENT;

    public GgufWriter put(String key, Value value) {
        metadata.put(key, value);
        if (key.equals("general.alignment")) {
            alignment = ((Number) value.payload()).longValue();
        }
        return this;
    }

    /** Adds a tensor; {@code dims} innermost first, {@code data} row-major, stored as {@code type} (F32 or F16). */
    public GgufWriter tensor(String name, GgmlType type, float[] data, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException(name + ": " + data.length + " values for " + n + " elements");
        }
        if (type != GgmlType.F32 && type != GgmlType.F16) {
            throw new IllegalArgumentException(name + ": only F32 and F16 can be written");
        }
        tensors.add(new Tensor(name, dims.clone(), type, data));
        return this;
    }

    public byte[] toBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    public void write(OutputStream out) throws IOException {
        Buf b = new Buf();
        b.i32(GgufReader.MAGIC);
        b.i32(3);
        b.i64(tensors.size());
        b.i64(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            b.string(e.getKey());
            b.i32(e.getValue().type());
            value(b, e.getValue());
        }
        long offset = 0;
        for (Tensor t : tensors) {
            b.string(t.name());
            b.i32(t.dims().length);
            for (long d : t.dims()) {
                b.i64(d);
            }
            b.i32(t.type().id);
            b.i64(offset);
            offset = pad(offset + t.type().bytes(t.data().length), alignment);
        }
        b.padTo(alignment);
        out.write(b.bytes());
        for (Tensor t : tensors) {
            long size = t.type().bytes(t.data().length);
            ByteBuffer data = ByteBuffer.allocate((int) pad(size, alignment)).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : t.data()) {
                if (t.type() == GgmlType.F32) {
                    data.putFloat(f);
                } else {
                    data.putShort(toHalf(f));
                }
            }
            out.write(data.array());
        }
    }

    private static void value(Buf b, Value v) {
        Object p = v.payload();
        switch (v.type()) {
            case GgufReader.UINT8, GgufReader.INT8 -> b.u8(((Number) p).intValue());
            case GgufReader.UINT16, GgufReader.INT16 -> b.u16(((Number) p).intValue());
            case GgufReader.UINT32, GgufReader.INT32 -> b.i32(((Number) p).intValue());
            case GgufReader.UINT64, GgufReader.INT64 -> b.i64(((Number) p).longValue());
            case GgufReader.FLOAT32 -> b.i32(Float.floatToIntBits((Float) p));
            case GgufReader.FLOAT64 -> b.i64(Double.doubleToLongBits((Double) p));
            case GgufReader.BOOL -> b.u8((Boolean) p ? 1 : 0);
            case GgufReader.STRING -> b.string((String) p);
            case GgufReader.ARRAY -> {
                Object[] arr = (Object[]) p;
                int elementType = (Integer) arr[0];
                @SuppressWarnings("unchecked")
                List<Value> values = (List<Value>) arr[1];
                b.i32(elementType);
                b.i64(values.size());
                for (Value element : values) {
                    value(b, element);
                }
            }
            default -> throw new IllegalArgumentException("unknown GGUF type " + v.type());
        }
    }

    static long pad(long n, long to) {
        return (n + to - 1) / to * to;
    }

    /** IEEE 754 half precision, round to nearest even (Float.floatToFloat16 arrived in Java 20). */
    static short toHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = bits & 0x7fffff;
        if (((bits >>> 23) & 0xff) == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        if (exp >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (exp <= 0) {
            if (exp < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - exp;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = sign | exp << 10 | mant >> 13;
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) half;
    }

    /** Little-endian byte building. */
    private static final class Buf {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        void u8(int v) { ensure(1); buf.put((byte) v); }
        void u16(int v) { ensure(2); buf.putShort((short) v); }
        void i32(int v) { ensure(4); buf.putInt(v); }
        void i64(long v) { ensure(8); buf.putLong(v); }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            i64(bytes.length);
            ensure(bytes.length);
            buf.put(bytes);
        }

        void padTo(long alignment) {
            while (buf.position() % alignment != 0) {
                u8(0);
            }
        }

        byte[] bytes() {
            byte[] out = new byte[buf.position()];
            buf.flip();
            buf.get(out);
            return out;
        }
    }
}
