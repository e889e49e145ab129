package dev.llmrt.runtime.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.runtime.gguf.GgufWriter.Value;
import dev.llmrt.runtime.spi.GgufParseException;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class GgufReaderTest {

    private static GgufFile read(byte[] bytes) throws GgufParseException {
        return GgufReader.read(new ByteArrayInputStream(bytes), bytes.length);
    }

    private static byte[] sample() {
        return new GgufWriter()
                .put("general.architecture", Value.string("llama"))
                .put("u8", Value.u8(250)).put("i8", Value.i8(-5)).put("u16", Value.u16(65000)).put("i16", Value.i16(-300))
                .put("u32", Value.u32(4_000_000_000L)).put("i32", Value.i32(-7)).put("u64", Value.u64(1L << 40))
                .put("i64", Value.i64(-1L << 40)).put("f32", Value.f32(1.5f)).put("f64", Value.f64(-2.25))
                .put("bool", Value.bool(true)).put("str", Value.string("héllo"))
                .put("nested", Value.array(GgufReader.ARRAY, List.of(
                        Value.array(GgufReader.INT32, List.of(Value.i32(1), Value.i32(2))),
                        Value.array(GgufReader.STRING, List.of(Value.string("a"))))))
                .put("empty", Value.array(GgufReader.FLOAT32, List.of()))
                .tensor("a", GgmlType.F32, new float[] {1, 2, 3, 4, 5, 6}, 3, 2)
                .tensor("b", GgmlType.F16, new float[64], 64)
                .toBytes();
    }

    @Test
    void readsEveryValueTypeAndTheTensorInfos() throws Exception {
        GgufFile f = read(sample());
        assertEquals(3, f.version());
        assertEquals(250L, f.metadata().get("u8"));
        assertEquals(-5L, f.metadata().get("i8"));
        assertEquals(65000L, f.metadata().get("u16"));
        assertEquals(-300L, f.metadata().get("i16"));
        assertEquals(4_000_000_000L, f.metadata().get("u32"));
        assertEquals(-7L, f.metadata().get("i32"));
        assertEquals(1L << 40, f.metadata().get("u64"));
        assertEquals(-1L << 40, f.metadata().get("i64"));
        assertEquals(1.5f, f.metadata().get("f32"));
        assertEquals(-2.25, f.metadata().get("f64"));
        assertEquals(true, f.metadata().get("bool"));
        assertEquals("héllo", f.getString("str").orElseThrow());
        GgufFile.GgufArray nested = (GgufFile.GgufArray) f.metadata().get("nested");
        assertEquals(GgufReader.ARRAY, nested.elementType());
        assertEquals(List.of(1L, 2L), ((GgufFile.GgufArray) nested.values().get(0)).values());
        assertEquals(List.of("a"), ((GgufFile.GgufArray) nested.values().get(1)).values());
        assertEquals(List.of(), ((GgufFile.GgufArray) f.metadata().get("empty")).values());
        assertEquals(2, f.tensors().size());
        assertEquals("a", f.tensors().get(0).name());
        assertArrayEquals(new long[] {3, 2}, f.tensors().get(0).dims());
        assertEquals(GgmlType.F32, f.tensors().get(0).type());
        assertEquals(0, f.tensors().get(0).offset());
        assertEquals(32, f.tensors().get(1).offset(), "the second tensor starts at the next alignment boundary");
        assertEquals(128, f.tensors().get(1).bytes());
        assertEquals(0, f.dataOffset() % 32);
    }

    @Test
    void aFileCutAfterTheHeaderStillYieldsTheHeader() throws Exception {
        byte[] whole = TinyLlamaModel.generate(TinyLlamaModel.Shape.DEFAULT).toBytes();
        GgufFile full = read(whole);
        GgufFile cut = read(Arrays.copyOf(whole, (int) full.dataOffset()));
        assertEquals(full.metadata().keySet(), cut.metadata().keySet());
        assertEquals(full.tensors().size(), cut.tensors().size());
        assertEquals(full.tensorBytes(), cut.tensorBytes());
    }

    @Test
    void typeSizesFollowGgml() {
        assertEquals(34, GgmlType.Q8_0.bytes(32));
        assertEquals(210, GgmlType.Q6_K.bytes(256));
        assertEquals(GgmlType.BF16, GgmlType.byId(30));
        assertEquals(null, GgmlType.byId(4));
    }

    private static byte[] patch(byte[] bytes, int at, Consumer<ByteBuffer> edit) {
        byte[] copy = bytes.clone();
        ByteBuffer b = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
        b.position(at);
        edit.accept(b);
        return copy;
    }

    private static void refused(byte[] bytes, String expected) {
        GgufParseException e = assertThrows(GgufParseException.class,
                () -> assertTimeoutPreemptively(Duration.ofSeconds(5), () -> read(bytes)));
        assertTrue(e.getMessage().contains(expected), "'" + expected + "' in: " + e.getMessage());
    }

    @Test
    void hostileHeadersAreRefusedWithPreciseMessages() {
        byte[] ok = sample();
        int firstKey = 24; // magic, version, tensor count, kv count
        refused(patch(ok, 0, b -> b.putInt(0x12345678)), "not a GGUF file: magic 0x12345678");
        refused(patch(ok, 4, b -> b.putInt(1)), "unsupported GGUF version 1");
        refused(patch(ok, 4, b -> b.putInt(0x03000000)), "big-endian GGUF files are not supported");
        refused(patch(ok, 8, b -> b.putLong(Long.MAX_VALUE)), "tensor count 9223372036854775807 can't fit");
        refused(patch(ok, 8, b -> b.putLong(-1)), "tensor count 18446744073709551615 can't fit");
        refused(patch(ok, 16, b -> b.putLong(1L << 40)), "metadata count 1099511627776 can't fit");
        refused(patch(ok, firstKey, b -> b.putLong(1L << 50)), "claims 1125899906842624 bytes");
        refused(patch(ok, firstKey, b -> b.putLong(70_000)), "claims 70000 bytes but 608 remain");
        refused(new GgufWriter().put("k".repeat(70_000), Value.u8(1)).toBytes(), "is 70000 bytes long (at most 65535)");
        // the first value's type id: after the key length (8) and "general.architecture" (20)
        refused(patch(ok, firstKey + 28, b -> b.putInt(99)), "unknown metadata value type 99 for 'general.architecture'");
        refused(Arrays.copyOf(ok, 100), "metadata count 15 can't fit in the 76 bytes left");
        refused(Arrays.copyOf(ok, 300), "string 'str' claims 6 bytes but 1 remain in the file");
        refused(Arrays.copyOf(ok, 295), "file ends at byte 295 inside the header, reading length of 'str'");
        refused(new byte[0], "file ends at byte 0 inside the header, reading magic");
    }

    @Test
    void hostileArraysAndTensorsAreRefused() {
        GgufWriter huge = new GgufWriter().put("arr", Value.array(GgufReader.UINT8, List.of(Value.u8(1))));
        byte[] bytes = huge.toBytes();
        // layout: 24 header + 8 + "arr" + 4 type + 4 element type + 8 count
        int count = 24 + 8 + 3 + 4 + 4;
        refused(patch(bytes, count, b -> b.putLong(1L << 62)), "length of array 'arr' 4611686018427387904 can't fit");
        refused(patch(bytes, count - 4, b -> b.putInt(77)), "array 'arr' has unknown element type 77");

        // arrays nested deeper than the limit
        Value v = Value.array(GgufReader.INT32, List.of());
        for (int i = 0; i < 10; i++) {
            v = Value.array(GgufReader.ARRAY, List.of(v));
        }
        refused(new GgufWriter().put("deep", v).toBytes(), "nests arrays deeper than 8");

        byte[] t = new GgufWriter().tensor("w", GgmlType.F32, new float[4], 4).toBytes();
        int dims = 24 + 8 + 1; // tensor name
        refused(patch(t, dims, b -> b.putInt(9)), "tensor 'w' has 9 dimensions");
        refused(patch(t, dims + 4, b -> b.putLong(-4)), "negative dimension");
        refused(patch(t, dims + 12, b -> b.putInt(4)), "unknown ggml type id 4");
        refused(patch(t, dims + 16, b -> b.putLong(3)), "offset 3 is not aligned");
    }

    @Test
    void duplicateKeysAndBadAlignmentAreRefused() {
        byte[] a = new GgufWriter().put("general.alignment", Value.u32(3)).toBytes();
        refused(a, "general.alignment must be a positive power of two");
        byte[] d = new GgufWriter().put("k1", Value.u8(1)).put("k2", Value.u8(2)).toBytes();
        refused(patch(d, 24 + 8 + 2 + 4 + 1 + 8 + 1, b -> b.put((byte) '1')), "duplicate metadata key 'k1'");
    }

    @Test
    void aFuzzedCorpusNeverCrashesOrHangs() throws Exception {
        byte[] seed = sample();
        java.util.Random rnd = new java.util.Random(7);
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < 3000; i++) {
                byte[] m = seed.clone();
                int flips = 1 + rnd.nextInt(8);
                for (int f = 0; f < flips; f++) {
                    m[rnd.nextInt(Math.min(m.length, 700))] = (byte) rnd.nextInt(256);
                }
                if (rnd.nextBoolean()) {
                    m = Arrays.copyOf(m, rnd.nextInt(m.length));
                }
                try {
                    read(m);
                } catch (GgufParseException expected) {
                    // refused with a message: fine
                }
            }
        });
    }
}
