package dev.llmrt.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Reads what the gateway needs from a request body, its top-level {@code model} and {@code user}
 * (OpenAI's end-user id, which keeps a client on one replica), and checks it at the edge, in the
 * same single pass of a streaming parser (no tree is built; the body is passed on as the client sent
 * it): well-formed JSON, nesting and field counts within limits, and for chat and text completions
 * the types and ranges of OpenAI's fields ({@code max_tokens}, {@code n}, {@code temperature},
 * penalties, ...), for Anthropic's Messages its required {@code max_tokens} and {@code messages} and
 * its ranges, for embeddings a required {@code input}. Unknown fields are allowed (clients send
 * vendor extensions), within the limits.
 */
final class RequestPeek {
    private RequestPeek() {}

    /**
     * @param maxDepth     how deep values may nest
     * @param maxFields    how many fields the top-level object may have
     * @param maxTokens    the largest {@code max_tokens} (and {@code max_completion_tokens}) accepted
     * @param maxChoices   the largest {@code n}
     */
    record Limits(int maxDepth, int maxFields, long maxTokens, int maxChoices) {
        static final Limits DEFAULT = new Limits(64, 256, 1L << 20, 16);
    }

    /** Whose request schema a body is checked against, beyond the limits every body has. */
    enum Schema {
        /** OpenAI's chat and text completions. */
        COMPLETION,
        /** Anthropic's Messages: {@code max_tokens} and {@code messages} required. */
        MESSAGES,
        /** OpenAI's embeddings: {@code input} required. */
        EMBEDDINGS,
        /** Only the limits every body has. */
        ANY
    }

    /** The top-level fields the gateway routes by (null where absent or not a string), and the token limit asked. */
    record Peeked(String model, String user, long maxTokens) {}

    /** The body is JSON, but not an object. */
    static final class NotAnObject extends IOException {
        NotAnObject() {
            super("request body must be a JSON object");
        }
    }

    /** A field the request may not have as it is: its name (the {@code param} of OpenAI's error) and why. */
    static final class Invalid extends IOException {
        final String param;

        Invalid(String param, String message) {
            super(message);
            this.param = param;
        }
    }

    /** The top-level {@code model} if it is a string, else null. Throws on malformed JSON. */
    static String model(JsonFactory factory, byte[] body) throws IOException {
        return peek(factory, body, Limits.DEFAULT, Schema.ANY).model();
    }

    /** The routing fields, with the checks of {@link Limits} and of the {@code schema}'s fields. */
    static Peeked peek(JsonFactory factory, byte[] body, Limits limits, Schema schema) throws IOException {
        boolean completion = schema == Schema.COMPLETION;
        try (JsonParser p = factory.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new NotAnObject();
            }
            String model = null;
            String user = null;
            long maxTokens = -1;
            int fields = 0;
            boolean messages = false;
            boolean input = false;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (++fields > limits.maxFields()) {
                    throw new Invalid(null, "the request has more than " + limits.maxFields() + " top-level fields");
                }
                JsonToken value = p.nextToken();
                if (name.equals("model")) {
                    model = string(p, value, name);
                } else if (name.equals("user") && value == JsonToken.VALUE_STRING) {
                    user = p.getText();
                } else if (completion && name.equals("stop") && value == JsonToken.START_ARRAY) {
                    stopWords(p);
                    continue; // read whole
                } else if (completion && name.equals("messages") && value == JsonToken.START_ARRAY) {
                    chatMessages(p, limits);
                    continue; // read whole
                } else if (completion && CHECKED.contains(name)) {
                    checked(p, name, value, limits);
                    continue; // read whole
                } else if (schema == Schema.EMBEDDINGS && name.equals("input") && value == JsonToken.START_ARRAY) {
                    promptLike(p, name);
                    input = true;
                    continue; // read whole
                } else if (completion) {
                    long tokens = completionField(p, name, value, limits);
                    if (tokens >= 0) {
                        maxTokens = tokens;
                    }
                } else if (schema == Schema.MESSAGES) {
                    if (name.equals("stop_sequences") && value == JsonToken.START_ARRAY) {
                        strings(p, name, Integer.MAX_VALUE);
                        continue; // read whole
                    }
                    if (name.equals("messages") && value == JsonToken.START_ARRAY) {
                        anthropicMessages(p, limits);
                        messages = true;
                        continue; // read whole
                    }
                    long tokens = messagesField(p, name, value, limits);
                    if (tokens >= 0) {
                        maxTokens = tokens;
                    }
                } else if (schema == Schema.EMBEDDINGS) {
                    input |= embeddingsField(p, name, value);
                }
                skip(p, value, name, limits.maxDepth());
            }
            if (t != JsonToken.END_OBJECT) {
                throw new IOException("unexpected " + t);
            }
            if (p.nextToken() != null) {
                throw new IOException("trailing content after the JSON object");
            }
            if (schema == Schema.MESSAGES && maxTokens < 0) {
                throw new Invalid("max_tokens", "'max_tokens' is required");
            }
            if (schema == Schema.MESSAGES && !messages) {
                throw new Invalid("messages", "'messages' is required");
            }
            if (schema == Schema.EMBEDDINGS && !input) {
                throw new Invalid("input", "'input' is required");
            }
            return new Peeked(model, user, maxTokens);
        }
    }

    /** OpenAI's ranges for the fields of chat and text completions; the token limit when this is it, else -1. */
    private static long completionField(JsonParser p, String name, JsonToken value, Limits limits) throws IOException {
        switch (name) {
            case "max_tokens", "max_completion_tokens" -> {
                if (value == JsonToken.VALUE_NULL) {
                    return -1;
                }
                long n = integer(p, value, name, 1, limits.maxTokens());
                return n;
            }
            case "n" -> integer(p, value, name, 1, limits.maxChoices());
            case "temperature" -> number(p, value, name, 0, 2);
            case "top_p" -> number(p, value, name, 0, 1);
            case "presence_penalty", "frequency_penalty" -> number(p, value, name, -2, 2);
            case "top_logprobs" -> integer(p, value, name, 0, 20);
            case "seed" -> integer(p, value, name, Long.MIN_VALUE, Long.MAX_VALUE);
            case "stream", "logprobs", "echo", "parallel_tool_calls" -> {
                if (value != JsonToken.VALUE_TRUE && value != JsonToken.VALUE_FALSE && value != JsonToken.VALUE_NULL) {
                    throw new Invalid(name, "'" + name + "' must be a boolean");
                }
            }
            case "messages" -> {
                if (value != JsonToken.START_ARRAY) {
                    throw new Invalid(name, "'messages' must be an array");
                }
            }
            case "stop" -> {
                if (value != JsonToken.VALUE_STRING && value != JsonToken.START_ARRAY && value != JsonToken.VALUE_NULL) {
                    throw new Invalid(name, "'stop' must be a string or an array of strings");
                }
            }
            default -> { }
        }
        return -1;
    }

    /** Completion fields whose whole value is checked here (read whole, then the next field). */
    private static final java.util.Set<String> CHECKED = java.util.Set.of("prompt", "tools", "tool_choice", "response_format",
            "logit_bias", "stream_options");

    private static void checked(JsonParser p, String name, JsonToken v, Limits limits) throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return;
        }
        switch (name) {
            case "prompt" -> {
                if (v == JsonToken.START_ARRAY) {
                    promptLike(p, name);
                } else if (v != JsonToken.VALUE_STRING) {
                    throw new Invalid(name, PROMPT_TYPES.formatted(name));
                }
            }
            case "tools" -> {
                if (v != JsonToken.START_ARRAY) {
                    throw new Invalid(name, "'tools' must be an array of tools");
                }
                tools(p, limits);
            }
            case "tool_choice" -> {
                if (v == JsonToken.VALUE_STRING) {
                    if (!java.util.Set.of("none", "auto", "required").contains(p.getText())) {
                        throw new Invalid(name, "'tool_choice' must be \"none\", \"auto\", \"required\" or an object naming a tool");
                    }
                } else if (v == JsonToken.START_OBJECT) {
                    skip(p, v, name, limits.maxDepth());
                } else {
                    throw new Invalid(name, "'tool_choice' must be \"none\", \"auto\", \"required\" or an object naming a tool");
                }
            }
            case "response_format" -> {
                if (v != JsonToken.START_OBJECT) {
                    throw new Invalid(name, "'response_format' must be an object with a 'type'");
                }
                String type = null;
                JsonToken t;
                while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken fv = p.nextToken();
                    if (field.equals("type")) {
                        if (fv != JsonToken.VALUE_STRING || !java.util.Set.of("text", "json_object", "json_schema").contains(p.getText())) {
                            throw new Invalid(name, "'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"");
                        }
                        type = p.getText();
                    } else if (field.equals("json_schema") && fv != JsonToken.START_OBJECT && fv != JsonToken.VALUE_NULL) {
                        throw new Invalid(name, "'response_format.json_schema' must be an object");
                    } else {
                        skip(p, fv, name, limits.maxDepth());
                    }
                }
                if (type == null) {
                    throw new Invalid(name, "'response_format.type' is required");
                }
            }
            case "logit_bias" -> {
                if (v != JsonToken.START_OBJECT) {
                    throw new Invalid(name, "'logit_bias' must be an object of token ids to numbers from -100 to 100");
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    number(p, p.nextToken(), name, -100, 100);
                }
            }
            case "stream_options" -> {
                if (v != JsonToken.START_OBJECT) {
                    throw new Invalid(name, "'stream_options' must be an object");
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken fv = p.nextToken();
                    if (field.equals("include_usage") && fv != JsonToken.VALUE_TRUE && fv != JsonToken.VALUE_FALSE
                            && fv != JsonToken.VALUE_NULL) {
                        throw new Invalid(name, "'stream_options.include_usage' must be a boolean");
                    }
                    skip(p, fv, name, limits.maxDepth());
                }
            }
            default -> skip(p, v, name, limits.maxDepth());
        }
    }

    private static final String PROMPT_TYPES = "'%s' must be a string, an array of strings, an array of token ids or an "
            + "array of token-id arrays";

    /** A prompt or an input as an array (its start read): not empty, all strings, all token ids, or all arrays of ids. */
    private static void promptLike(JsonParser p, String name) throws IOException {
        int kind = 0;
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            int k;
            if (t == JsonToken.VALUE_STRING) {
                k = 1;
            } else if (t == JsonToken.VALUE_NUMBER_INT) {
                k = 2;
            } else if (t == JsonToken.START_ARRAY) {
                k = 3;
                JsonToken id;
                while ((id = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (id != JsonToken.VALUE_NUMBER_INT) {
                        throw new Invalid(name, PROMPT_TYPES.formatted(name));
                    }
                }
            } else {
                throw new Invalid(name, PROMPT_TYPES.formatted(name));
            }
            if (kind != 0 && kind != k) {
                throw new Invalid(name, "'" + name + "' mixes kinds: " + PROMPT_TYPES.formatted(name).substring(name.length() + 3));
            }
            kind = k;
            n++;
        }
        if (n == 0) {
            throw new Invalid(name, "'" + name + "' must not be empty");
        }
    }

    /** Tools (the array's start read): each an object of type "function" naming its function. */
    private static void tools(JsonParser p, Limits limits) throws IOException {
        int i = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String at = "tools[" + i++ + "]";
            if (t != JsonToken.START_OBJECT) {
                throw new Invalid("tools", "'" + at + "' must be an object");
            }
            String type = null;
            boolean named = false;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                if (field.equals("type")) {
                    if (v != JsonToken.VALUE_STRING) {
                        throw new Invalid("tools", "'" + at + ".type' must be a string");
                    }
                    type = p.getText();
                } else if (field.equals("function")) {
                    if (v != JsonToken.START_OBJECT) {
                        throw new Invalid("tools", "'" + at + ".function' must be an object");
                    }
                    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                        String f = p.currentName();
                        JsonToken fv = p.nextToken();
                        if (f.equals("name")) {
                            if (fv != JsonToken.VALUE_STRING || p.getText().isEmpty()) {
                                throw new Invalid("tools", "'" + at + ".function.name' must be a non-empty string");
                            }
                            named = true;
                        } else if (f.equals("parameters") && fv != JsonToken.START_OBJECT && fv != JsonToken.VALUE_NULL) {
                            throw new Invalid("tools", "'" + at + ".function.parameters' must be a JSON schema object");
                        } else {
                            skip(p, fv, "tools", limits.maxDepth());
                        }
                    }
                } else {
                    skip(p, v, "tools", limits.maxDepth());
                }
            }
            if (!"function".equals(type)) {
                throw new Invalid("tools", "'" + at + ".type' must be \"function\"");
            }
            if (!named) {
                throw new Invalid("tools", "'" + at + ".function.name' is required");
            }
        }
    }

    /**
     * Anthropic's messages (the array's start read): at least one, each an object with role "user" or
     * "assistant" and content a string or an array of blocks, each an object with a string type (a
     * text block's text a string).
     */
    private static void anthropicMessages(JsonParser p, Limits limits) throws IOException {
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String at = "messages[" + n++ + "]";
            if (t != JsonToken.START_OBJECT) {
                throw new Invalid("messages", "'" + at + "' must be an object with 'role' and 'content'");
            }
            String role = null;
            boolean content = false;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                if (field.equals("role")) {
                    if (v != JsonToken.VALUE_STRING || !(p.getText().equals("user") || p.getText().equals("assistant"))) {
                        throw new Invalid("messages", "'" + at + ".role' must be \"user\" or \"assistant\"");
                    }
                    role = p.getText();
                } else if (field.equals("content")) {
                    content = true;
                    if (v == JsonToken.START_ARRAY) {
                        parts(p, at, null, "block", limits);
                    } else if (v != JsonToken.VALUE_STRING) {
                        throw new Invalid("messages", "'" + at + ".content' must be a string or an array of content blocks");
                    }
                } else {
                    skip(p, v, "messages", limits.maxDepth());
                }
            }
            if (role == null || !content) {
                throw new Invalid("messages", "'" + at + "' needs a 'role' and a 'content'");
            }
        }
        if (n == 0) {
            throw new Invalid("messages", "'messages' must hold at least one message");
        }
    }

    private static final java.util.Set<String> ROLES = java.util.Set.of("system", "developer", "user", "assistant", "tool",
            "function");
    private static final java.util.Set<String> PART_TYPES = java.util.Set.of("text", "image_url", "input_audio", "file",
            "refusal");

    /**
     * Chat messages (the array's start already read): at least one, each an object with a string
     * {@code role} OpenAI knows, {@code content} a string, null or an array of content parts (objects
     * of a known {@code type}, a text part's {@code text} a string), {@code name} and
     * {@code tool_call_id} strings. What backends choke on is refused here, naming the message.
     */
    private static void chatMessages(JsonParser p, Limits limits) throws IOException {
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String at = "messages[" + n + "]";
            if (t != JsonToken.START_OBJECT) {
                throw new Invalid("messages", "'" + at + "' must be an object with a 'role'");
            }
            String role = null;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                switch (field) {
                    case "role" -> {
                        if (v != JsonToken.VALUE_STRING || !ROLES.contains(p.getText())) {
                            throw new Invalid("messages", "'" + at + ".role' must be one of " + new java.util.TreeSet<>(ROLES));
                        }
                        role = p.getText();
                    }
                    case "content" -> content(p, v, at, limits);
                    case "name", "tool_call_id" -> {
                        if (v != JsonToken.VALUE_STRING && v != JsonToken.VALUE_NULL) {
                            throw new Invalid("messages", "'" + at + "." + field + "' must be a string");
                        }
                    }
                    case "tool_calls" -> {
                        if (v != JsonToken.START_ARRAY && v != JsonToken.VALUE_NULL) {
                            throw new Invalid("messages", "'" + at + ".tool_calls' must be an array");
                        }
                        skip(p, v, "messages", limits.maxDepth());
                    }
                    default -> skip(p, v, "messages", limits.maxDepth());
                }
            }
            if (role == null) {
                throw new Invalid("messages", "'" + at + ".role' is required");
            }
            n++;
        }
        if (n == 0) {
            throw new Invalid("messages", "'messages' must hold at least one message");
        }
    }

    /** A message's content: a string, null, or an array of content parts. */
    private static void content(JsonParser p, JsonToken v, String at, Limits limits) throws IOException {
        if (v == JsonToken.VALUE_STRING || v == JsonToken.VALUE_NULL) {
            return;
        }
        if (v != JsonToken.START_ARRAY) {
            throw new Invalid("messages", "'" + at + ".content' must be a string or an array of content parts");
        }
        parts(p, at, PART_TYPES, "part", limits);
    }

    /**
     * Content parts or blocks (the array's start read): each an object with a string {@code type}
     * (one of {@code types}, or any when null); a text one's {@code text} a string.
     */
    private static void parts(JsonParser p, String at, java.util.Set<String> types, String noun, Limits limits) throws IOException {
        int i = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String part = at + ".content[" + i++ + "]";
            if (t != JsonToken.START_OBJECT) {
                throw new Invalid("messages", "'" + part + "' must be an object with a 'type'");
            }
            String type = null;
            boolean text = false;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken fv = p.nextToken();
                if (field.equals("type")) {
                    if (fv != JsonToken.VALUE_STRING || p.getText().isEmpty() || (types != null && !types.contains(p.getText()))) {
                        throw new Invalid("messages", "'" + part + ".type' must be " + (types == null ? "a string"
                                : "one of " + new java.util.TreeSet<>(types)));
                    }
                    type = p.getText();
                } else if (field.equals("text")) {
                    if (fv != JsonToken.VALUE_STRING) {
                        throw new Invalid("messages", "'" + part + ".text' must be a string");
                    }
                    text = true;
                } else {
                    skip(p, fv, "messages", limits.maxDepth());
                }
            }
            if (type == null) {
                throw new Invalid("messages", "'" + part + ".type' is required");
            }
            if (type.equals("text") && !text) {
                throw new Invalid("messages", "'" + part + ".text' is required for a text " + noun);
            }
        }
    }

    /** Anthropic's ranges for Messages; {@code max_tokens} when this is it, else -1. */
    private static long messagesField(JsonParser p, String name, JsonToken value, Limits limits) throws IOException {
        switch (name) {
            case "max_tokens" -> {
                if (value == JsonToken.VALUE_NULL) {
                    throw new Invalid(name, "'max_tokens' is required");
                }
                return integer(p, value, name, 1, limits.maxTokens());
            }
            case "temperature", "top_p" -> number(p, value, name, 0, 1);
            case "top_k" -> integer(p, value, name, 0, Integer.MAX_VALUE);
            case "stream" -> {
                if (value != JsonToken.VALUE_TRUE && value != JsonToken.VALUE_FALSE && value != JsonToken.VALUE_NULL) {
                    throw new Invalid(name, "'stream' must be a boolean");
                }
            }
            case "messages" -> {
                if (value != JsonToken.START_ARRAY) {
                    throw new Invalid(name, "'messages' must be an array");
                }
            }
            case "system" -> {
                if (value != JsonToken.VALUE_STRING && value != JsonToken.START_ARRAY && value != JsonToken.VALUE_NULL) {
                    throw new Invalid(name, "'system' must be a string or an array of text blocks");
                }
            }
            case "stop_sequences" -> {
                if (value != JsonToken.VALUE_NULL) {
                    throw new Invalid(name, "'stop_sequences' must be an array of strings");
                }
            }
            default -> { }
        }
        return -1;
    }

    /** OpenAI's embeddings fields; true when this is a usable {@code input}. */
    private static boolean embeddingsField(JsonParser p, String name, JsonToken value) throws IOException {
        switch (name) {
            case "input" -> {
                if (value != JsonToken.VALUE_STRING && value != JsonToken.START_ARRAY) {
                    throw new Invalid(name, "'input' must be a string or an array");
                }
                return true;
            }
            case "dimensions" -> integer(p, value, name, 1, 65_536);
            case "encoding_format" -> {
                if (value != JsonToken.VALUE_NULL && (value != JsonToken.VALUE_STRING
                        || !(p.getText().equals("float") || p.getText().equals("base64")))) {
                    throw new Invalid(name, "'encoding_format' must be \"float\" or \"base64\"");
                }
            }
            default -> { }
        }
        return false;
    }

    /** {@code stop} as an array: up to 4 strings, as OpenAI takes it. */
    private static void stopWords(JsonParser p) throws IOException {
        strings(p, "stop", 4);
    }

    /** An array (its start already read) of at most {@code max} strings. */
    private static void strings(JsonParser p, String name, int max) throws IOException {
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_STRING) {
                throw new Invalid(name, "'" + name + "' must be " + (name.equals("stop") ? "a string or " : "") + "an array of strings");
            }
            if (++n > max) {
                throw new Invalid(name, "'" + name + "' may hold at most " + max + " sequences");
            }
        }
    }

    private static String string(JsonParser p, JsonToken value, String name) throws IOException {
        if (value != JsonToken.VALUE_STRING) {
            throw new Invalid(name, "'" + name + "' must be a string");
        }
        return p.getText();
    }

    private static long integer(JsonParser p, JsonToken value, String name, long min, long max) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return -1;
        }
        if (value != JsonToken.VALUE_NUMBER_INT) {
            throw new Invalid(name, "'" + name + "' must be an integer");
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new Invalid(name, "'" + name + "' must be at most " + max);
        }
        long n = p.getLongValue();
        if (n < min || n > max) {
            throw new Invalid(name, "'" + name + "' must be " + (min == Long.MIN_VALUE ? "" : "at least " + min + " and ")
                    + "at most " + max + ", not " + n);
        }
        return n;
    }

    private static void number(JsonParser p, JsonToken value, String name, double min, double max) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return;
        }
        if (value != JsonToken.VALUE_NUMBER_INT && value != JsonToken.VALUE_NUMBER_FLOAT) {
            throw new Invalid(name, "'" + name + "' must be a number");
        }
        double v = p.getDoubleValue();
        if (!(v >= min && v <= max)) {
            throw new Invalid(name, "'" + name + "' must be between " + trim(min) + " and " + trim(max) + ", not " + p.getText());
        }
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    /** Past the value that starts at {@code value}, refusing one nested deeper than {@code maxDepth}. */
    private static void skip(JsonParser p, JsonToken value, String field, int maxDepth) throws IOException {
        if (value != JsonToken.START_OBJECT && value != JsonToken.START_ARRAY) {
            return;
        }
        int depth = 1;
        while (depth > 0) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new IOException("the body ended inside '" + field + "'");
            }
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                if (++depth > maxDepth) {
                    throw new Invalid(field, "'" + field + "' nests deeper than " + maxDepth + " levels");
                }
            } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                depth--;
            }
        }
    }
}
