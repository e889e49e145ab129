package dev.llmrt.gateway.recorder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Puts an OpenAI event stream back together as the one JSON answer it stands for, as model-runner's
 * recorder does: the deltas' content (and reasoning) joined into one message, with the last chunk's
 * id, model, finish reason and usage. Anything it can't read is kept as it came.
 */
final class StreamedAnswer {
    private StreamedAnswer() {}

    static String assemble(ObjectMapper json, String events) {
        if (events.startsWith("event: message_start") || events.startsWith("event:message_start")) {
            return assembleMessage(json, events);
        }
        StringBuilder content = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        JsonNode last = null;
        String finish = null;
        JsonNode usage = null;
        boolean completion = false;
        try {
            for (String line : events.split("\n")) {
                if (!line.startsWith("data: ") || line.startsWith("data: [DONE]")) {
                    continue;
                }
                JsonNode chunk = json.readTree(line.substring(6));
                last = chunk;
                if (chunk.hasNonNull("usage")) {
                    usage = chunk.get("usage");
                }
                JsonNode choice = chunk.path("choices").path(0);
                if (choice.has("text")) {
                    completion = true;
                    content.append(choice.path("text").asText());
                }
                content.append(choice.path("delta").path("content").asText(""));
                reasoning.append(choice.path("delta").path("reasoning_content").asText(""));
                if (choice.hasNonNull("finish_reason")) {
                    finish = choice.get("finish_reason").asText();
                }
            }
        } catch (IOException e) {
            return events;
        }
        if (last == null) {
            return events;
        }
        ObjectNode out = json.createObjectNode();
        out.set("id", last.path("id"));
        out.put("object", completion ? "text_completion" : "chat.completion");
        out.set("created", last.path("created"));
        out.set("model", last.path("model"));
        ObjectNode choice = out.putArray("choices").addObject().put("index", 0);
        if (completion) {
            choice.put("text", content.toString());
        } else {
            ObjectNode message = choice.putObject("message").put("role", "assistant").put("content", content.toString());
            if (!reasoning.isEmpty()) {
                message.put("reasoning_content", reasoning.toString());
            }
        }
        choice.put("finish_reason", finish);
        if (usage != null) {
            out.set("usage", usage);
        }
        return out.toString();
    }

    /** Anthropic's events: message_start's message with the text deltas joined and message_delta's stop and usage. */
    private static String assembleMessage(ObjectMapper json, String events) {
        ObjectNode message = null;
        StringBuilder text = new StringBuilder();
        try {
            for (String line : events.split("\n")) {
                if (!line.startsWith("data:")) {
                    continue;
                }
                JsonNode data = json.readTree(line.substring(5).strip());
                switch (data.path("type").asText()) {
                    case "message_start" -> message = (ObjectNode) data.path("message").deepCopy();
                    case "content_block_delta" -> text.append(data.path("delta").path("text").asText(""));
                    case "message_delta" -> {
                        if (message != null) {
                            message.setAll((ObjectNode) data.path("delta"));
                            if (data.has("usage")) {
                                ObjectNode usage = message.get("usage") instanceof ObjectNode u ? u : message.putObject("usage");
                                usage.setAll((ObjectNode) data.get("usage"));
                            }
                        }
                    }
                    default -> { }
                }
            }
        } catch (IOException | ClassCastException e) {
            return events;
        }
        if (message == null) {
            return events;
        }
        message.putArray("content").addObject().put("type", "text").put("text", text.toString());
        return message.toString();
    }
}
