package dev.llmrt.gateway.security;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.util.ByteString;

/**
 * The tokens an answer used, read from the bytes going to the client: OpenAI's
 * {@code usage.total_tokens}, Anthropic's input plus output tokens, Ollama's prompt and eval counts;
 * for a stream that reports no usage, one token per event (streams send about a token per event).
 */
final class TokenCount {
    private static final Pattern TOTAL = Pattern.compile("\"total_tokens\"\\s*:\\s*(\\d+)");
    private static final Pattern PARTS = Pattern.compile("\"(?:input_tokens|output_tokens|prompt_eval_count|eval_count)\"\\s*:\\s*(\\d+)");
    private static final Pattern EVENT = Pattern.compile("(?m)^data: (?!\\[DONE\\])");

    private static final Pattern OUTPUT_CAP = Pattern.compile(
            "\"(?:max_completion_tokens|max_tokens|max_output_tokens|num_predict)\"\\s*:\\s*(\\d{1,9})");
    /** About four bytes of a request per token (English text; JSON's quotes and keys make it generous). */
    private static final int BYTES_PER_TOKEN = 4;

    /**
     * What a request may use, before it runs: its prompt (estimated from its size in bytes) and the
     * most output it asks for (OpenAI's, Anthropic's, the Responses API's or Ollama's cap), if it names one.
     */
    static long mayUse(String body, int bytes) {
        Matcher cap = OUTPUT_CAP.matcher(body);
        long output = cap.find() ? Long.parseLong(cap.group(1)) : 0;
        return bytes / BYTES_PER_TOKEN + output;
    }

    private long usage = -1;
    private long parts;
    private long events;

    void scan(ByteString bytes) {
        String s = bytes.utf8String();
        Matcher total = TOTAL.matcher(s);
        while (total.find()) {
            usage = Long.parseLong(total.group(1));
        }
        if (usage < 0) {
            Matcher m = PARTS.matcher(s);
            while (m.find()) {
                parts += Long.parseLong(m.group(1));
            }
        }
        Matcher e = EVENT.matcher(s);
        while (e.find()) {
            events++;
        }
    }

    long tokens() {
        return usage >= 0 ? usage : parts > 0 ? parts : events;
    }

    static long of(ByteString whole) {
        TokenCount c = new TokenCount();
        c.scan(whole);
        return c.tokens();
    }
}
