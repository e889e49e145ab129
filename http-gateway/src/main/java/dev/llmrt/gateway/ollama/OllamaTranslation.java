package dev.llmrt.gateway.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * Ollama's request and answer shapes to OpenAI's and back, as model-runner translates them:
 * {@code /api/chat} and {@code /api/generate} become chat completions (options mapped, images as
 * data URIs, tool calls' arguments as JSON strings); answers and stream chunks become Ollama's
 * ({@code message} or {@code response}, {@code done}, and on the last one the counts).
 */
public final class OllamaTranslation {
    /** Ollama options with the same meaning in OpenAI's request, and the name they have there. */
    private static final List<String[]> OPTIONS = List.of(new String[] {"temperature", "temperature"},
            new String[] {"top_p", "top_p"}, new String[] {"top_k", "top_k"}, new String[] {"num_predict", "max_tokens"},
            new String[] {"stop", "stop"}, new String[] {"seed", "seed"}, new String[] {"presence_penalty", "presence_penalty"},
            new String[] {"frequency_penalty", "frequency_penalty"});

    private final ObjectMapper json;

    public OllamaTranslation(ObjectMapper json) {
        this.json = json;
    }

    /** The model an Ollama request names: {@code name}, else {@code model}. */
    public static String model(JsonNode request) {
        String name = request.path("name").asText("");
        return name.isEmpty() ? request.path("model").asText("") : name;
    }

    /** Ollama streams unless told not to. */
    public static boolean streams(JsonNode request) {
        return !request.has("stream") || request.get("stream").asBoolean(true);
    }

    /** {@code /api/chat} as a chat completion request. */
    public ObjectNode chat(JsonNode request) {
        ObjectNode out = json.createObjectNode().put("model", model(request));
        ArrayNode messages = out.putArray("messages");
        request.path("messages").forEach(m -> messages.add(message(m)));
        common(request, out);
        if (request.path("tools").isArray() && !request.path("tools").isEmpty()) {
            out.set("tools", request.get("tools"));
        }
        return out;
    }

    /** {@code /api/generate} as a chat completion request: the prompt as the user's message, after the system's. */
    public ObjectNode generate(JsonNode request) {
        ObjectNode out = json.createObjectNode().put("model", model(request));
        ArrayNode messages = out.putArray("messages");
        if (!request.path("system").asText("").isEmpty()) {
            messages.addObject().put("role", "system").put("content", request.get("system").asText());
        }
        ObjectNode user = messages.addObject().put("role", "user").put("content", request.path("prompt").asText(""));
        if (request.path("images").isArray() && !request.path("images").isEmpty()) {
            user.set("content", withImages(request.path("prompt").asText(""), request.get("images")));
        }
        common(request, out);
        return out;
    }

    private void common(JsonNode request, ObjectNode out) {
        boolean stream = streams(request);
        out.put("stream", stream);
        if (stream) {
            out.putObject("stream_options").put("include_usage", true); // the last chunk's counts
        }
        JsonNode options = request.path("options");
        for (String[] o : OPTIONS) {
            if (options.has(o[0])) {
                out.set(o[1], options.get(o[0]));
            }
        }
    }

    private ObjectNode message(JsonNode m) {
        ObjectNode out = json.createObjectNode().put("role", m.path("role").asText("user"));
        String content = m.path("content").asText("");
        if (m.path("images").isArray() && !m.path("images").isEmpty()) {
            out.set("content", withImages(content, m.get("images")));
        } else {
            out.put("content", content);
        }
        if (m.path("tool_calls").isArray() && !m.path("tool_calls").isEmpty()) {
            ArrayNode calls = out.putArray("tool_calls");
            for (JsonNode c : m.get("tool_calls")) {
                ObjectNode call = c.deepCopy();
                if (!call.has("type")) {
                    call.put("type", "function");
                }
                JsonNode args = call.path("function").path("arguments");
                if (args.isObject() && call.get("function") instanceof ObjectNode f) {
                    f.put("arguments", args.toString());
                }
                calls.add(call);
            }
        }
        if (m.hasNonNull("tool_call_id")) {
            out.put("tool_call_id", m.get("tool_call_id").asText());
        }
        return out;
    }

    private ArrayNode withImages(String text, JsonNode images) {
        ArrayNode parts = json.createArrayNode();
        if (!text.isEmpty()) {
            parts.addObject().put("type", "text").put("text", text);
        }
        images.forEach(i -> parts.addObject().put("type", "image_url").putObject("image_url").put("url", dataUri(i.asText())));
        return parts;
    }

    /** Raw base64 (as Open WebUI sends it) gets a data URI prefix, its type guessed from the first bytes. */
    static String dataUri(String image) {
        String data = image.strip();
        if (data.startsWith("data:") || data.startsWith("http://") || data.startsWith("https://")) {
            return data;
        }
        String type = data.startsWith("iVBOR") ? "image/png" : data.startsWith("R0lG") ? "image/gif" : "image/jpeg";
        return "data:" + type + ";base64," + data;
    }

    /** A chat completion answer as Ollama's: {@code message} for chat, {@code response} for generate. */
    public ObjectNode answer(String model, byte[] openAi, boolean chat) throws IOException {
        JsonNode root = json.readTree(openAi);
        JsonNode message = root.path("choices").path(0).path("message");
        ObjectNode out = json.createObjectNode().put("model", model).put("created_at", Instant.now().toString());
        put(out, message, chat, "message");
        out.put("done", true).put("done_reason", root.path("choices").path(0).path("finish_reason").asText("stop"));
        counts(out, root.path("usage"));
        return out;
    }

    /**
     * One SSE line of a chat completion stream as an NDJSON line of Ollama's, or null for a line that
     * carries nothing for Ollama. The usage chunk (it has no choices) is the last, done one.
     */
    public String chunk(String model, String line, boolean chat) {
        if (!line.startsWith("data:")) {
            return null;
        }
        String data = line.substring(5).strip();
        if (data.equals("[DONE]")) {
            return null;
        }
        try {
            JsonNode root = json.readTree(data);
            ObjectNode out = json.createObjectNode().put("model", model).put("created_at", Instant.now().toString());
            JsonNode choice = root.path("choices").path(0);
            if (choice.isMissingNode()) {
                if (!root.has("usage")) {
                    return null;
                }
                put(out, json.createObjectNode(), chat, "delta");
                out.put("done", true).put("done_reason", "stop");
                counts(out, root.path("usage"));
                return out + "\n";
            }
            JsonNode delta = choice.path("delta");
            if (choice.hasNonNull("finish_reason") && delta.path("content").asText("").isEmpty()) {
                return null; // the reason goes with the done line, which the usage chunk makes
            }
            put(out, delta, chat, "delta");
            out.put("done", false);
            return out + "\n";
        } catch (IOException e) {
            return null;
        }
    }

    /** The last line of a stream that ended without a usage chunk. */
    public String done(String model, boolean chat) {
        ObjectNode out = json.createObjectNode().put("model", model).put("created_at", Instant.now().toString());
        put(out, json.createObjectNode(), chat, "delta");
        return out.put("done", true).put("done_reason", "stop") + "\n";
    }

    private void put(ObjectNode out, JsonNode message, boolean chat, String from) {
        String content = message.path("content").asText("");
        String thinking = message.path("reasoning_content").asText("");
        if (chat) {
            ObjectNode m = out.putObject("message").put("role", "assistant").put("content", content);
            if (!thinking.isEmpty()) {
                m.put("thinking", thinking);
            }
            if (message.path("tool_calls").isArray() && !message.path("tool_calls").isEmpty()) {
                ArrayNode calls = m.putArray("tool_calls");
                int i = 0;
                for (JsonNode c : message.get("tool_calls")) {
                    ObjectNode call = c.deepCopy();
                    call.remove("type");
                    if (call.get("function") instanceof ObjectNode f) {
                        JsonNode args = f.path("arguments");
                        if (args.isTextual()) {
                            try {
                                f.set("arguments", json.readTree(args.asText()));
                            } catch (IOException e) {
                                // keep the string as the backend wrote it
                            }
                        }
                        f.put("index", i++);
                    }
                    calls.add(call);
                }
            }
        } else {
            out.put("response", content);
            if (!thinking.isEmpty()) {
                out.put("thinking", thinking);
            }
        }
    }

    private static void counts(ObjectNode out, JsonNode usage) {
        if (usage.has("prompt_tokens")) {
            out.put("prompt_eval_count", usage.get("prompt_tokens").asLong());
        }
        if (usage.has("completion_tokens")) {
            out.put("eval_count", usage.get("completion_tokens").asLong());
        }
    }

    /** An OpenAI error answer's message as Ollama's {@code {"error": message}}. */
    public ObjectNode error(byte[] openAi) {
        String message;
        try {
            JsonNode root = json.readTree(openAi);
            message = root.path("error").path("message").asText(root.path("error").asText(new String(openAi)));
        } catch (IOException e) {
            message = new String(openAi);
        }
        return json.createObjectNode().put("error", message);
    }
}
