package dev.llmrt.agent.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Keep-alive values as model-runner's and Ollama's clients send them, and as model-runner writes them. */
class KeepAliveTest {
    @Test
    void goDurationsHoconDurationsZeroAndNegatives() {
        assertEquals(300_000, KeepAlive.parseMillis("5m"));
        assertEquals(300_000, KeepAlive.parseMillis("5m0s"));
        assertEquals(5_400_000, KeepAlive.parseMillis("1h30m"));
        assertEquals(5_400_000, KeepAlive.parseMillis("1.5h"));
        assertEquals(1_500, KeepAlive.parseMillis("1.5s"));
        assertEquals(250, KeepAlive.parseMillis("250ms"));
        assertEquals(0, KeepAlive.parseMillis("0"));
        assertEquals(-1, KeepAlive.parseMillis("-1"));
        assertEquals(-1, KeepAlive.parseMillis("-5m"));
        assertEquals(600_000, KeepAlive.parseMillis("10 minutes"), "the catalog's HOCON form");
        assertThrows(IllegalArgumentException.class, () -> KeepAlive.parseMillis("soon"));
        assertThrows(IllegalArgumentException.class, () -> KeepAlive.parseMillis("5x"));
    }

    @Test
    void writtenLikeGosDurationString() {
        assertEquals("5m0s", KeepAlive.format(300_000));
        assertEquals("1h30m0s", KeepAlive.format(5_400_000));
        assertEquals("1.5s", KeepAlive.format(1_500));
        assertEquals("250ms", KeepAlive.format(250));
        assertEquals("0s", KeepAlive.format(0));
        assertEquals("-1", KeepAlive.format(-1));
    }
}
