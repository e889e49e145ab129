package dev.llmrt.gateway.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * OpenAI's Responses API as chat completions, the way model-runner's compatibility layer maps it:
 * {@code instructions} become the system message, a {@code previous_response_id} brings its whole
 * conversation, {@code input} (a string or message and function-call-output items) the new messages;
 * {@code max_output_tokens}, {@code temperature}, {@code top_p}, function tools and {@code text.format}
 * carry over. A chat completion answer becomes a response object with message and function-call items.
 */
final class ResponsesTranslation {
    private static final Pattern FORMAT_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private final ObjectMapper json;

    ResponsesTranslation(ObjectMapper json) {
        this.json = json;
    }

    static String newId(String prefix) {
        return prefix + UUID.randomUUID().toString().replace("-", "");
    }

    /** The chat completion request; {@code history} is the previous responses' messages, oldest first. */
    ObjectNode toChat(JsonNode request, List<JsonNode> history) {
        ObjectNode chat = json.createObjectNode().put("model", request.path("model").asText());
        for (String[] f : new String[][] {{"temperature", "temperature"}, {"top_p", "top_p"},
                {"max_output_tokens", "max_tokens"}, {"user", "user"}, {"parallel_tool_calls", "parallel_tool_calls"},
                {"tool_choice", "tool_choice"}}) {
            if (request.hasNonNull(f[0])) {
                chat.set(f[1], request.get(f[0]));
            }
        }
        boolean stream = request.path("stream").asBoolean(false);
        if (stream) {
            chat.put("stream", true).putObject("stream_options").put("include_usage", true);
        }
        responseFormat(request.path("text").path("format"), chat);
        if (request.path("tools").isArray() && !request.path("tools").isEmpty()) {
            ArrayNode tools = chat.putArray("tools");
            for (JsonNode t : request.get("tools")) {
                if (!t.path("type").asText().equals("function")) {
                    throw new IllegalArgumentException("tool type \"" + t.path("type").asText()
                            + "\" is not supported by this Responses compatibility layer");
                }
                JsonNode f = t.has("function") ? t.get("function") : t;
                ObjectNode fn = tools.addObject().put("type", "function").putObject("function").put("name", f.path("name").asText());
                if (f.hasNonNull("description")) {
                    fn.put("description", f.get("description").asText());
                }
                if (f.hasNonNull("parameters")) {
                    fn.set("parameters", f.get("parameters"));
                }
            }
        }
        ArrayNode messages = chat.putArray("messages");
        if (!request.path("instructions").asText("").isEmpty()) {
            messages.addObject().put("role", "system").put("content", request.get("instructions").asText());
        }
        history.forEach(messages::add);
        messages.addAll(inputMessages(request.path("input")));
        return chat;
    }

    private void responseFormat(JsonNode format, ObjectNode chat) {
        String type = format.path("type").asText("");
        switch (type) {
            case "", "text" -> { }
            case "json_object" -> chat.putObject("response_format").put("type", "json_object");
            case "json_schema" -> {
                String name = format.path("name").asText("");
                if (!FORMAT_NAME.matcher(name).matches()) {
                    throw new IllegalArgumentException("text.format.name must be 1-64 letters, numbers, underscores or dashes");
                }
                if (!format.path("schema").isObject()) {
                    throw new IllegalArgumentException("text.format.schema must be a JSON object");
                }
                ObjectNode schema = chat.putObject("response_format").put("type", "json_schema").putObject("json_schema")
                        .put("name", name);
                schema.set("schema", format.get("schema"));
                if (format.hasNonNull("strict")) {
                    schema.set("strict", format.get("strict"));
                }
            }
            default -> throw new IllegalArgumentException("unsupported text.format.type \"" + type + "\"");
        }
    }

    /** The request's input as chat messages. */
    ArrayNode inputMessages(JsonNode input) {
        ArrayNode out = json.createArrayNode();
        if (input.isTextual()) {
            out.addObject().put("role", "user").put("content", input.asText());
            return out;
        }
        if (!input.isArray()) {
            throw new IllegalArgumentException("input must be a string or an array of items");
        }
        for (JsonNode item : input) {
            if (item.path("type").asText().equals("function_call_output") || item.has("call_id") && !item.has("role")) {
                JsonNode output = item.path("output");
                out.addObject().put("role", "tool").put("tool_call_id", item.path("call_id").asText())
                        .put("content", output.isTextual() ? output.asText() : output.toString());
            } else if (item.path("type").asText().equals("function_call")) {
                ObjectNode m = out.addObject().put("role", "assistant").putNull("content");
                m.putArray("tool_calls").addObject().put("id", item.path("call_id").asText()).put("type", "function")
                        .putObject("function").put("name", item.path("name").asText()).put("arguments", item.path("arguments").asText());
            } else if (item.has("role")) {
                ObjectNode m = out.addObject().put("role", item.get("role").asText());
                JsonNode content = item.path("content");
                if (content.isTextual()) {
                    m.put("content", content.asText());
                } else if (content.isArray()) {
                    ArrayNode parts = m.putArray("content");
                    for (JsonNode p : content) {
                        String t = p.path("type").asText();
                        if (t.equals("input_text") || t.equals("output_text") || t.equals("text")) {
                            parts.addObject().put("type", "text").put("text", p.path("text").asText());
                        } else if (t.equals("input_image") || t.equals("image_url")) {
                            JsonNode url = p.path("image_url");
                            parts.addObject().put("type", "image_url").putObject("image_url")
                                    .put("url", url.isTextual() ? url.asText() : url.path("url").asText());
                        } else {
                            throw new IllegalArgumentException("content part type \"" + t + "\" is not supported");
                        }
                    }
                } else {
                    throw new IllegalArgumentException("content must be a string or an array");
                }
            } else {
                throw new IllegalArgumentException("input item needs a role, or type function_call_output");
            }
        }
        return out;
    }

    /** A response object around {@code output} items. */
    ObjectNode response(String id, JsonNode request, String status, ArrayNode output, JsonNode chatUsage, long createdAt) {
        ObjectNode r = json.createObjectNode().put("id", id).put("object", "response").put("created_at", createdAt)
                .put("status", status).put("model", request.path("model").asText());
        r.set("output", output);
        StringBuilder text = new StringBuilder();
        output.forEach(item -> item.path("content").forEach(c -> text.append(c.path("text").asText(""))));
        r.put("output_text", text.toString());
        if (request.hasNonNull("instructions")) {
            r.set("instructions", request.get("instructions"));
        } else {
            r.putNull("instructions");
        }
        if (request.hasNonNull("previous_response_id")) {
            r.set("previous_response_id", request.get("previous_response_id"));
        } else {
            r.putNull("previous_response_id");
        }
        for (String f : new String[] {"temperature", "top_p", "max_output_tokens", "metadata", "tools"}) {
            if (request.hasNonNull(f)) {
                r.set(f, request.get(f));
            }
        }
        if (chatUsage != null && chatUsage.isObject()) {
            long in = chatUsage.path("prompt_tokens").asLong();
            long out = chatUsage.path("completion_tokens").asLong();
            r.putObject("usage").put("input_tokens", in).put("output_tokens", out).put("total_tokens", in + out);
        } else {
            r.putNull("usage");
        }
        r.putNull("error");
        return r;
    }

    /** A completed chat answer's message as response output items. */
    ArrayNode outputOf(JsonNode chatAnswer) {
        ArrayNode output = json.createArrayNode();
        JsonNode message = chatAnswer.path("choices").path(0).path("message");
        for (JsonNode call : message.path("tool_calls")) {
            output.add(functionCall(call.path("id").asText(), call.path("function").path("name").asText(),
                    call.path("function").path("arguments").asText()));
        }
        String content = message.path("content").asText("");
        if (!content.isEmpty() || output.isEmpty()) {
            output.add(message(newId("msg_"), content, "completed"));
        }
        return output;
    }

    ObjectNode message(String id, String text, String status) {
        ObjectNode m = json.createObjectNode().put("type", "message").put("id", id).put("status", status).put("role", "assistant");
        m.putArray("content").add(outputText(text));
        return m;
    }

    ObjectNode outputText(String text) {
        ObjectNode t = json.createObjectNode().put("type", "output_text").put("text", text);
        t.putArray("annotations");
        return t;
    }

    ObjectNode functionCall(String callId, String name, String arguments) {
        return json.createObjectNode().put("type", "function_call").put("id", newId("fc_")).put("call_id", callId)
                .put("name", name).put("arguments", arguments).put("status", "completed");
    }

    /** A stored response's turn as chat messages: its input's, then its output's. */
    ArrayNode turnMessages(JsonNode request, JsonNode response) {
        ArrayNode out = inputMessages(request.path("input"));
        StringBuilder text = new StringBuilder();
        ArrayNode calls = json.createArrayNode();
        for (JsonNode item : response.path("output")) {
            if (item.path("type").asText().equals("message")) {
                item.path("content").forEach(c -> text.append(c.path("text").asText("")));
            } else if (item.path("type").asText().equals("function_call")) {
                calls.addObject().put("id", item.path("call_id").asText()).put("type", "function").putObject("function")
                        .put("name", item.path("name").asText()).put("arguments", item.path("arguments").asText());
            }
        }
        ObjectNode assistant = out.addObject().put("role", "assistant").put("content", text.toString());
        if (!calls.isEmpty()) {
            assistant.set("tool_calls", calls);
        }
        return out;
    }
}
