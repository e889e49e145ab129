package dev.llmrt.runtime.process;

import java.nio.charset.StandardCharsets;

/** Keeps the last bytes a process wrote, so a failure can quote them. Thread-safe. */
public final class OutputTail {
    private final byte[] ring;
    private long written;

    public OutputTail(int capacity) {
        this.ring = new byte[capacity];
    }

    public synchronized void append(byte[] bytes, int offset, int length) {
        for (int i = 0; i < length; i++) {
            ring[(int) (written++ % ring.length)] = bytes[offset + i];
        }
    }

    /** The retained text, starting at a line boundary when the tail was cut. */
    public synchronized String text() {
        int size = (int) Math.min(written, ring.length);
        byte[] out = new byte[size];
        long start = written - size;
        for (int i = 0; i < size; i++) {
            out[i] = ring[(int) ((start + i) % ring.length)];
        }
        String s = new String(out, StandardCharsets.UTF_8);
        if (written > ring.length) {
            int nl = s.indexOf('\n');
            if (nl >= 0 && nl < s.length() - 1) {
                s = s.substring(nl + 1);
            }
        }
        return s.strip();
    }
}
