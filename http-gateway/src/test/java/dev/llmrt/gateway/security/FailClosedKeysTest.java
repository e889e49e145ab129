package dev.llmrt.gateway.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.japi.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Keys fail closed: the first key only from loopback; once keys were on, they stay on (no key left:
 * 401); until the cluster's keys are read, 503 rather than an open door. In memory: no traffic.
 */
class FailClosedKeysTest {
    private static final Function<HttpRequest, CompletionStage<HttpResponse>> OK =
            r -> CompletableFuture.completedFuture(HttpResponse.create().withStatus(200));

    private static int status(KeyCheck check, HttpRequest request) throws Exception {
        return check.wrap(OK).apply(request).toCompletableFuture().get(5, TimeUnit.SECONDS).status().intValue();
    }

    private static HttpRequest from(HttpRequest r, String ip) throws Exception {
        return r.addAttribute(AttributeKeys.remoteAddress, RemoteAddress.create(new InetSocketAddress(InetAddress.getByName(ip), 40000)));
    }

    /** Remembers in memory whether keys were on. */
    private static final class Mark implements ApiKeys.Memory {
        boolean on;

        @Override
        public boolean keysWereOn() {
            return on;
        }

        @Override
        public void keysAreOn() {
            on = true;
        }
    }

    @Test
    void theFirstKeyComesOnlyFromTheNodeItself() throws Exception {
        KeyCheck check = new KeyCheck(new ApiKeys(List.of()));
        HttpRequest create = HttpRequest.create("/keys").withMethod(HttpMethods.POST);
        assertEquals(403, status(check, from(create, "192.0.2.10")), "a remote caller can't make the first key");
        assertEquals(403, status(check, create), "nor a caller whose address is unknown");
        assertEquals(200, status(check, from(create, "127.0.0.1")));
        assertEquals(200, status(check, from(create, "::1")));
        assertEquals(200, status(check, from(HttpRequest.create("/v1/models"), "192.0.2.10")), "no key ever: keys are off");
    }

    @Test
    void keysOnceOnStayOnAndUnreadKeysRefuse() throws Exception {
        Mark mark = new Mark();
        mark.on = true; // an earlier run of this node had keys
        ApiKeys keys = new ApiKeys(List.of()).expectClusterKeys().rememberedIn(mark);
        KeyCheck check = new KeyCheck(keys);
        HttpRequest models = HttpRequest.create("/v1/models");
        assertEquals(503, status(check, models), "the cluster's keys aren't read yet: refuse, don't open");
        assertEquals(200, status(check, HttpRequest.create("/health")), "probes stay open");
        keys.clusterChanged(Map.of());
        assertEquals(401, status(check, models), "read, and none is left: still on");
        assertEquals(403, status(check, from(HttpRequest.create("/keys").withMethod(HttpMethods.POST), "192.0.2.10")));

        Mark fresh = new Mark();
        ApiKeys made = new ApiKeys(List.of()).rememberedIn(fresh);
        made.clusterChanged(Map.of("ops", new StoredKey("ops", "00".repeat(32), List.of(), true, 0, 0, 0, 0, 0)));
        assertTrue(fresh.on, "a key made turns the mark on");
        made.clusterChanged(Map.of());
        assertEquals(401, status(new KeyCheck(made), models), "revoking the last key doesn't turn keys off");
    }
}
