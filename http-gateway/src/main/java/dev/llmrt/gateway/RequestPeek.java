package dev.llmrt.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Reads what the gateway needs from a request body, its top-level {@code model} and {@code user}
 * (OpenAI's end-user id, which keeps a client on one replica), with a streaming parser: the whole
 * body is checked to be well-formed JSON, but no tree is built (the body is passed on to the backend
 * as the client sent it).
 */
final class RequestPeek {
    private RequestPeek() {}

    /** The top-level string fields the gateway routes by; null where absent or not a string. */
    record Peeked(String model, String user) {}

    /** The body is JSON, but not an object. */
    static final class NotAnObject extends IOException {
        NotAnObject() {
            super("request body must be a JSON object");
        }
    }

    /** The top-level {@code model} if it is a string, else null. Throws on malformed JSON. */
    static String model(JsonFactory factory, byte[] body) throws IOException {
        return peek(factory, body).model();
    }

    /** The top-level {@code model} and {@code user} where they are strings. Throws on malformed JSON. */
    static Peeked peek(JsonFactory factory, byte[] body) throws IOException {
        try (JsonParser p = factory.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new NotAnObject();
            }
            String model = null;
            String user = null;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (name.equals("model") && value == JsonToken.VALUE_STRING) {
                    model = p.getText();
                } else if (name.equals("user") && value == JsonToken.VALUE_STRING) {
                    user = p.getText();
                } else {
                    p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT) {
                throw new IOException("unexpected " + t);
            }
            if (p.nextToken() != null) {
                throw new IOException("trailing content after the JSON object");
            }
            return new Peeked(model, user);
        }
    }
}
