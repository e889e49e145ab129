package dev.llmrt.agent.runner.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Parses HTTP/1.1 responses incrementally, as bytes arrive: the status line and the headers a proxy
 * needs (Content-Type, Content-Length, Transfer-Encoding, Connection), then the body, framed by
 * length, by chunks, or by the end of the connection. Body bytes are handed over as slices of the
 * input buffer, never copied here.
 */
final class ResponseParser {

    /** Where the parsed parts go. */
    interface Listener {
        void head(Head head) throws IOException;

        /** Body bytes: a slice valid only during the call. */
        void data(ByteBuffer bytes) throws IOException;

        /** The response ended; the connection may carry another if {@code reusable}. */
        void end(boolean reusable);
    }

    /**
     * @param contentLength -1 when the body is chunked or ends with the connection
     * @param keepAlive     the server keeps the connection for another request
     */
    record Head(int status, String contentType, long contentLength, boolean chunked, boolean keepAlive) {
        /** The body arrives in parts over time (SSE and other chunked or unbounded bodies). */
        boolean streaming() {
            return chunked || contentLength < 0 || contentType.startsWith("text/event-stream");
        }
    }

    private enum State { HEAD, BODY_LENGTH, BODY_UNTIL_CLOSE, CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, TRAILERS, DONE }

    private final int maxHeadBytes;
    private final byte[] line;
    private int lineLength;
    private State state = State.HEAD;
    private boolean statusSeen;
    private int status;
    private String contentType = "application/octet-stream";
    private long contentLength = -1;
    private boolean chunked;
    private boolean keepAlive = true;
    private long remaining;
    private int headBytes;

    ResponseParser(int maxHeadBytes) {
        this.maxHeadBytes = maxHeadBytes;
        this.line = new byte[Math.min(maxHeadBytes, 8192)];
    }

    /** Ready for the next response on the same connection. */
    void reset() {
        state = State.HEAD;
        statusSeen = false;
        status = 0;
        contentType = "application/octet-stream";
        contentLength = -1;
        chunked = false;
        keepAlive = true;
        lineLength = 0;
        headBytes = 0;
    }

    /** No byte of a response has arrived yet. */
    boolean idle() {
        return state == State.HEAD && !statusSeen && lineLength == 0;
    }

    boolean done() {
        return state == State.DONE;
    }

    /** Consumes what {@code in} holds; returns when it is empty or the response ended. */
    void feed(ByteBuffer in, Listener listener) throws IOException {
        while (in.hasRemaining() && state != State.DONE) {
            switch (state) {
                case HEAD, CHUNK_SIZE, CHUNK_DATA_END, TRAILERS -> {
                    if (readLine(in)) {
                        onLine(listener);
                    }
                }
                case BODY_LENGTH, CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, in.remaining());
                    ByteBuffer slice = in.slice(in.position(), n);
                    in.position(in.position() + n);
                    remaining -= n;
                    listener.data(slice);
                    if (remaining == 0) {
                        if (state == State.BODY_LENGTH) {
                            finish(listener);
                        } else {
                            state = State.CHUNK_DATA_END;
                        }
                    }
                }
                case BODY_UNTIL_CLOSE -> {
                    ByteBuffer slice = in.slice();
                    in.position(in.limit());
                    listener.data(slice);
                }
                default -> throw new IllegalStateException(state.toString());
            }
        }
    }

    /** The server closed the connection: the end of a close-delimited body, else a broken response. */
    void eof(Listener listener) throws IOException {
        if (state == State.BODY_UNTIL_CLOSE) {
            state = State.DONE;
            listener.end(false);
        } else if (state != State.DONE) {
            throw new IOException(idle() ? "the runner closed the connection before answering"
                    : "the runner closed the connection in the middle of its response");
        }
    }

    private void finish(Listener listener) {
        state = State.DONE;
        listener.end(keepAlive);
    }

    /** Collects a CRLF-terminated line into {@link #line}; true once complete (CRLF stripped). */
    private boolean readLine(ByteBuffer in) throws IOException {
        while (in.hasRemaining()) {
            byte b = in.get();
            if (state == State.HEAD && ++headBytes > maxHeadBytes) {
                throw new IOException("response head larger than " + maxHeadBytes + " bytes");
            }
            if (b == '\n') {
                if (lineLength > 0 && line[lineLength - 1] == '\r') {
                    lineLength--;
                }
                return true;
            }
            if (lineLength == line.length) {
                throw new IOException("response line longer than " + line.length + " bytes");
            }
            line[lineLength++] = b;
        }
        return false;
    }

    private void onLine(Listener listener) throws IOException {
        String text = new String(line, 0, lineLength, StandardCharsets.ISO_8859_1);
        lineLength = 0;
        switch (state) {
            case HEAD -> {
                if (!statusSeen) {
                    statusLine(text);
                } else if (text.isEmpty()) {
                    endOfHead(listener);
                } else {
                    header(text);
                }
            }
            case CHUNK_SIZE -> {
                int semi = text.indexOf(';');
                String hex = (semi < 0 ? text : text.substring(0, semi)).trim();
                try {
                    remaining = Long.parseLong(hex, 16);
                } catch (NumberFormatException e) {
                    throw new IOException("bad chunk size '" + hex + "'");
                }
                state = remaining == 0 ? State.TRAILERS : State.CHUNK_DATA;
            }
            case CHUNK_DATA_END -> {
                if (!text.isEmpty()) {
                    throw new IOException("chunk not followed by CRLF");
                }
                state = State.CHUNK_SIZE;
            }
            case TRAILERS -> {
                if (text.isEmpty()) {
                    finish(listener);
                }
            }
            default -> throw new IllegalStateException(state.toString());
        }
    }

    private void statusLine(String text) throws IOException {
        // "HTTP/1.1 200 OK"
        if (!text.startsWith("HTTP/1.") || text.length() < 12) {
            throw new IOException("not an HTTP/1.x status line: '" + abbreviate(text) + "'");
        }
        try {
            status = Integer.parseInt(text.substring(9, 12));
        } catch (NumberFormatException e) {
            throw new IOException("bad status in '" + abbreviate(text) + "'");
        }
        keepAlive = text.charAt(7) == '1'; // HTTP/1.0 closes unless it says otherwise
        statusSeen = true;
    }

    private void header(String text) throws IOException {
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw new IOException("malformed header line '" + abbreviate(text) + "'");
        }
        String name = text.substring(0, colon).trim();
        String value = text.substring(colon + 1).trim();
        if (name.equalsIgnoreCase("content-length")) {
            try {
                contentLength = Long.parseLong(value);
            } catch (NumberFormatException e) {
                throw new IOException("bad Content-Length '" + abbreviate(value) + "'");
            }
        } else if (name.equalsIgnoreCase("transfer-encoding")) {
            chunked = value.toLowerCase().contains("chunked");
        } else if (name.equalsIgnoreCase("content-type")) {
            contentType = value;
        } else if (name.equalsIgnoreCase("connection")) {
            String v = value.toLowerCase();
            if (v.contains("close")) {
                keepAlive = false;
            } else if (v.contains("keep-alive")) {
                keepAlive = true;
            }
        }
    }

    private void endOfHead(ResponseParser.Listener listener) throws IOException {
        if (status >= 100 && status < 200) {
            reset(); // an interim response (100 Continue): the real one follows
            return;
        }
        boolean noBody = status == 204 || status == 304;
        if (chunked) {
            contentLength = -1;
        } else if (noBody) {
            contentLength = 0;
        } else if (contentLength < 0) {
            keepAlive = false; // the body ends with the connection
        }
        listener.head(new Head(status, contentType, contentLength, chunked, keepAlive));
        if (chunked) {
            state = State.CHUNK_SIZE;
        } else if (contentLength == 0) {
            finish(listener);
        } else if (contentLength > 0) {
            remaining = contentLength;
            state = State.BODY_LENGTH;
        } else {
            state = State.BODY_UNTIL_CLOSE;
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
