package dev.llmrt.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import org.apache.pekko.http.javadsl.model.ContentTypes;
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

    public static HttpResponse error(int status, String type, String code, String message) {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("error").put("message", message).put("type", type).put("code", code);
        return HttpResponse.create().withStatus(StatusCodes.get(status))
                .withEntity(ContentTypes.APPLICATION_JSON, root.toString());
    }
}
