package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a gateway keeps of the requests it served is bounded in bytes, not only in entries: the
 * Responses store drops its oldest past responses-kept-bytes, and the recorder keeps only the first
 * max-body-bytes of each body and answer.
 */
class BoundedStoresTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theResponsesStoreAndTheRecorderStayWithinTheirBytes() throws Exception {
        try (InJvmCluster cluster = new InJvmCluster("""
                llmrt.gateway.responses-kept-bytes = 64KiB
                llmrt.gateway.recorder.max-body-bytes = 1KiB
                """)) {
            String base = TestHttp.local(cluster.start("").port());
            String big = "x".repeat(8 * 1024);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                HttpResponse<String> r = TestHttp.send(base, "POST", "/v1/responses",
                        "{\"model\":\"sim/fast\",\"input\":\"" + i + " " + big + "\"}");
                assertEquals(200, r.statusCode(), r.body());
                ids.add(JSON.readTree(r.body()).path("id").asText());
            }
            // 40 responses of over 8 KiB each: only the last few fit in 64 KiB
            assertEquals(404, TestHttp.send(base, "GET", "/v1/responses/" + ids.get(0), null).statusCode(), "the oldest went");
            assertEquals(200, TestHttp.send(base, "GET", "/v1/responses/" + ids.get(39), null).statusCode(), "the newest stays");
            long kept = ids.stream().filter(id -> {
                try {
                    return TestHttp.send(base, "GET", "/v1/responses/" + id, null).statusCode() == 200;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).count();
            assertTrue(kept >= 3 && kept <= 8, kept + " responses kept in 64 KiB");

            JsonNode records = JSON.readTree(TestHttp.send(base, "GET", "/engines/requests?model=sim/fast", null).body());
            JsonNode last = records.get(0).path("records");
            String request = last.get(last.size() - 1).path("request").asText();
            assertTrue(request.length() < 1200 && request.endsWith("bytes, cut)"), "kept cut: " + request.length());
        }
    }
}
