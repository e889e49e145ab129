package dev.llmrt.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * Errors in OpenAI's shape, {@code {"error":{"message","type","code"}}}: the one place that decides
 * which status and type each failure a client can see gets.
 */
public final class OpenAiErrors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OpenAiErrors() {}

    public static HttpResponse badRequest(String message) {
        return error(400, "invalid_request_error", "invalid_request", message);
    }

    /** A 400 naming the field that is wrong ({@code param}, or null when it is the request as a whole). */
    public static HttpResponse invalid(String param, String message) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error").put("message", message).put("type", "invalid_request_error")
                .put("code", "invalid_value");
        if (param != null) {
            error.put("param", param);
        } else {
            error.putNull("param");
        }
        return HttpResponse.create().withStatus(StatusCodes.BAD_REQUEST).withEntity(ContentTypes.APPLICATION_JSON, root.toString());
    }

    public static HttpResponse notFound(String code, String message) {
        return error(404, "invalid_request_error", code, message);
    }

    public static HttpResponse tooLarge(long limit) {
        return error(413, "invalid_request_error", "request_too_large",
                "request body is larger than the limit of " + limit + " bytes");
    }

    public static HttpResponse unavailable(String message) {
        return error(503, "server_error", "runner_unavailable", message);
    }

    public static HttpResponse badGateway(String message) {
        return error(502, "server_error", "backend_failed", message);
    }

    public static HttpResponse timeout(String message) {
        return error(504, "server_error", "timeout", message);
    }

    public static HttpResponse internal(String message) {
        return error(500, "server_error", "internal_error", message);
    }

    /**
     * Admission control turned a request away: 429 when the model's queue is full, 503 when it waited
     * too long; {@code Retry-After} in whole seconds.
     */
    public static HttpResponse refused(int status, String code, String message, Duration retryAfter) {
        long seconds = Math.max(1, (retryAfter.toMillis() + 999) / 1000);
        return error(status, status == 429 ? "rate_limit_error" : "server_error", code, message)
                .addHeader(RawHeader.create("Retry-After", Long.toString(seconds)));
    }

    /**
     * A response of ours in the OpenAI shape, rewritten in Anthropic's ({@code {"type":"error","error":
     * {"type","message"}}}) for the Messages API's clients; anything else (a backend's own answer) as it is.
     */
    public static HttpResponse asAnthropic(HttpResponse response) {
        int status = response.status().intValue();
        if (status < 400 || !(response.entity() instanceof HttpEntity.Strict strict)) {
            return response;
        }
        try {
            JsonNode body = JSON.readTree(strict.getData().toArrayUnsafe());
            if (body == null || body.has("type") || !body.path("error").has("message")) {
                return response;
            }
            String type = switch (status) {
                case 400, 405, 422 -> "invalid_request_error";
                case 401 -> "authentication_error";
                case 403 -> "permission_error";
                case 404 -> "not_found_error";
                case 413 -> "request_too_large";
                case 429 -> "rate_limit_error";
                case 503 -> "overloaded_error";
                default -> "api_error";
            };
            ObjectNode root = JSON.createObjectNode().put("type", "error");
            root.putObject("error").put("type", type).put("message", body.path("error").path("message").asText());
            return response.withEntity(ContentTypes.APPLICATION_JSON, root.toString());
        } catch (IOException e) {
            return response;
        }
    }

    public static HttpResponse error(int status, String type, String code, String message) {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("error").put("message", message).put("type", type).put("code", code);
        return HttpResponse.create().withStatus(StatusCodes.get(status))
                .withEntity(ContentTypes.APPLICATION_JSON, root.toString());
    }
}
