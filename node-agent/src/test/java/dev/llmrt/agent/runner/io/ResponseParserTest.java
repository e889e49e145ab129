package dev.llmrt.agent.runner.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResponseParserTest {

    /** Records what the parser reports. */
    private static final class Recorder implements ResponseParser.Listener {
        final List<ResponseParser.Head> heads = new ArrayList<>();
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        int ends;
        boolean reusable;

        @Override
        public void head(ResponseParser.Head head) {
            heads.add(head);
        }

        @Override
        public void data(ByteBuffer bytes) {
            byte[] b = new byte[bytes.remaining()];
            bytes.get(b);
            body.writeBytes(b);
        }

        @Override
        public void end(boolean reusable) {
            ends++;
            this.reusable = reusable;
        }

        String text() {
            return body.toString(StandardCharsets.UTF_8);
        }
    }

    /** Feeds the response in pieces of {@code step} bytes, as a socket might deliver it. */
    private static Recorder parse(String response, int step) throws IOException {
        ResponseParser parser = new ResponseParser(64 * 1024);
        Recorder r = new Recorder();
        byte[] bytes = response.getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < bytes.length; i += step) {
            parser.feed(ByteBuffer.wrap(bytes, i, Math.min(step, bytes.length - i)), r);
        }
        return r;
    }

    @Test
    void aLengthFramedJsonBodyAtEverySplit() throws IOException {
        String json = "{\"id\":\"x\",\"choices\":[]}";
        String response = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "
                + json.length() + "\r\n\r\n" + json;
        for (int step = 1; step <= response.length(); step++) {
            Recorder r = parse(response, step);
            assertEquals(1, r.ends, "step " + step);
            assertEquals(json, r.text());
            assertTrue(r.reusable);
            ResponseParser.Head h = r.heads.get(0);
            assertEquals(200, h.status());
            assertEquals("application/json; charset=utf-8", h.contentType());
            assertFalse(h.streaming());
        }
    }

    @Test
    void aChunkedEventStreamAtEverySplit() throws IOException {
        String response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "f\r\ndata: {\"a\":1}\n\n\r\n" + "6;ext=1\r\ndata: \r\n" + "8\r\n[DONE]\n\n\r\n" + "0\r\nX-Trailer: t\r\n\r\n";
        for (int step = 1; step <= response.length(); step++) {
            Recorder r = parse(response, step);
            assertEquals(1, r.ends, "step " + step);
            assertEquals("data: {\"a\":1}\n\ndata: [DONE]\n\n", r.text());
            assertTrue(r.heads.get(0).streaming());
            assertTrue(r.reusable);
        }
    }

    @Test
    void interimResponsesAreSkippedAndEmptyBodiesEndAtTheHead() throws IOException {
        Recorder r = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", 7);
        assertEquals(1, r.heads.size());
        assertEquals(204, r.heads.get(0).status());
        assertEquals(1, r.ends);
        assertEquals("", r.text());
    }

    @Test
    void aBodyWithoutLengthEndsWithTheConnection() throws IOException {
        ResponseParser parser = new ResponseParser(1024);
        Recorder r = new Recorder();
        parser.feed(ByteBuffer.wrap("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc".getBytes(StandardCharsets.ISO_8859_1)), r);
        assertEquals(0, r.ends);
        assertTrue(r.heads.get(0).streaming());
        parser.eof(r);
        assertEquals(1, r.ends);
        assertFalse(r.reusable, "a close-delimited body can't share its connection");
        assertEquals("abc", r.text());
    }

    @Test
    void connectionCloseIsHonoured() throws IOException {
        Recorder r = parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 100);
        assertEquals(1, r.ends);
        assertFalse(r.reusable);
    }

    @Test
    void malformedResponsesFailWithAReason() {
        assertThrows(IOException.class, () -> parse("SSH-2.0-OpenSSH\r\n\r\n", 100));
        assertThrows(IOException.class, () -> parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 100));
        assertThrows(IOException.class, () -> parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100));
        ResponseParser small = new ResponseParser(64);
        IOException e = assertThrows(IOException.class, () -> small.feed(ByteBuffer.wrap(
                ("HTTP/1.1 200 OK\r\nX-Long: " + "a".repeat(100) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)), new Recorder()));
        assertTrue(e.getMessage().contains("larger than 64"), e.getMessage());
    }

    @Test
    void aConnectionClosedMidResponseIsAnError() throws IOException {
        ResponseParser parser = new ResponseParser(1024);
        Recorder r = new Recorder();
        parser.feed(ByteBuffer.wrap("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".getBytes(StandardCharsets.ISO_8859_1)), r);
        IOException e = assertThrows(IOException.class, () -> parser.eof(r));
        assertTrue(e.getMessage().contains("middle"), e.getMessage());
    }
}
