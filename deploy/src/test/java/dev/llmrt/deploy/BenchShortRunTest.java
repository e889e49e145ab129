package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code llmrt bench --short} end to end, as CI runs it: it must finish and print every table. The
 * figures are printed, not judged (this machine is shared); what is checked is that the run is
 * whole and that what must hold whatever the speed holds: no errors, every one of the many open
 * streams gets tokens, and the thread count does not grow with them.
 */
class BenchShortRunTest {

    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES) // the whole short bench: 9 minutes seen on a busy machine
    void theShortBenchRunsEndToEndAndPrintsItsTables() throws Exception {
        for (String tool : new String[] {"nginx", "wrk"}) {
            assertTrue(Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/usr/bin", tool)),
                    tool + " is not installed: run deploy/scripts/setup.sh (it installs nginx-light and wrk)");
        }
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int exit;
        try (PrintStream tee = new PrintStream(new TeeStream(original, captured), true, StandardCharsets.UTF_8)) {
            System.setOut(tee);
            exit = Main.commandLine().execute("bench", "--short");
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, out);
        for (String section : new String[] {"### Non-streaming chat, concurrency 1", "### Non-streaming chat, concurrency 32",
                "### API keys, non-streaming chat, concurrency 32",
                "### Streaming, one at a time", "### Cross-node", "### Cold load", "streams open at once", "start-up"}) {
            assertTrue(out.contains(section), "missing section '" + section + "' in:\n" + out);
        }
        assertFalse(out.contains("NaN"), "every figure was measured:\n" + out);
        Matcher throughput = Pattern.compile("gateway vs nginx: throughput ([0-9.]+)x").matcher(out);
        assertTrue(throughput.find(), out);
        Matcher rows = Pattern.compile("^\\| (gateway|nginx|runner socket)[^|]*\\|[^\\n]*\\| (\\d+) \\|$", Pattern.MULTILINE).matcher(out);
        int n = 0;
        while (rows.find()) {
            n++;
            assertEquals("0", rows.group(2), "no errors: " + rows.group());
        }
        assertEquals(6, n, "three paths at two concurrencies:\n" + out);
        Matcher keyed = Pattern.compile("^\\| (keys off|key|key with limits) \\|[^\\n]*\\| (\\d+) \\|$", Pattern.MULTILINE).matcher(out);
        int k = 0;
        while (keyed.find()) {
            k++;
            assertEquals("0", keyed.group(2), "no errors with keys: " + keyed.group());
        }
        assertEquals(3, k, "keys off, on, and on with limits:\n" + out);
        Matcher streams = Pattern.compile("^\\| (\\d+) / (\\d+) \\| [0-9.]+ \\| [0-9]+ \\| [0-9]+ \\| (\\d+) \\| (\\d+) \\|$",
                Pattern.MULTILINE).matcher(out);
        assertTrue(streams.find(), out);
        assertEquals(streams.group(2), streams.group(1), "every open stream received tokens");
        int before = Integer.parseInt(streams.group(3));
        int with = Integer.parseInt(streams.group(4));
        assertTrue(with - before < 40, "threads must not grow with streams: " + before + " -> " + with);
    }

    /** Writes to two streams. */
    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws java.io.IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}
