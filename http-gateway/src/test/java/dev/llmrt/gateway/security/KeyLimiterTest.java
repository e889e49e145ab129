package dev.llmrt.gateway.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A key's token bucket: what requests may use is taken when they start, and settled when they end. */
class KeyLimiterTest {
    private static final ActorTestKit testKit = ActorTestKit.create("KeyLimiterTest");

    @AfterAll
    static void stop() {
        testKit.shutdownTestKit();
    }

    private static KeyLimiter.Decision acquire(ActorRef<KeyLimiter.Command> limiter, ApiKeys.Limits limits, long tokens) {
        TestProbe<KeyLimiter.Decision> probe = testKit.createTestProbe();
        limiter.tell(new KeyLimiter.Acquire(limits, false, tokens, probe.getRef()));
        return probe.receiveMessage();
    }

    @Test
    void requestsInFlightTogetherCantSpendTheSameTokens() {
        ApiKeys.Limits tpm100 = new ApiKeys.Limits(0, 100, 0, 0);
        ActorRef<KeyLimiter.Command> limiter = testKit.spawn(KeyLimiter.create("k", Duration.ofMinutes(15)));
        KeyLimiter.Decision first = acquire(limiter, tpm100, 40);
        KeyLimiter.Decision second = acquire(limiter, tpm100, 40);
        assertTrue(first.granted() && second.granted(), "80 of 100 reserved");
        KeyLimiter.Decision third = acquire(limiter, tpm100, 40);
        assertFalse(third.granted(), "20 left: not enough for a request that may use 40");
        assertEquals("token_limit_exceeded", third.code());
        assertTrue(third.message().contains("this request may use 40"), third.message());
        assertTrue(third.retryAfterMillis() >= 11_000, "20 more tokens take 12 s at 100 a minute: " + third.retryAfterMillis());

        limiter.tell(new KeyLimiter.Release(first.permit(), 10)); // it used 10 of its 40: 30 come back
        assertTrue(acquire(limiter, tpm100, 40).granted(), "50 left after the refund");
        limiter.tell(new KeyLimiter.Release(second.permit(), 70)); // it used 30 more than it reserved
        assertFalse(acquire(limiter, tpm100, 1).granted(), "the bucket is spent");
    }

    @Test
    void aRequestThatMayUseMoreThanAMinutesWorthWaitsForAFullBucket() {
        ApiKeys.Limits tpm100 = new ApiKeys.Limits(0, 100, 0, 0);
        ActorRef<KeyLimiter.Command> limiter = testKit.spawn(KeyLimiter.create("big", Duration.ofMinutes(15)));
        KeyLimiter.Decision big = acquire(limiter, tpm100, 5_000);
        assertTrue(big.granted(), "a full bucket lets it in: it could never start otherwise");
        assertFalse(acquire(limiter, tpm100, 1).granted(), "and it holds the whole minute's worth meanwhile");
        limiter.tell(new KeyLimiter.Release(big.permit(), 20));
        assertTrue(acquire(limiter, tpm100, 50).granted(), "what it didn't use came back");
    }

    @Test
    void whatARequestMayUseIsItsPromptAndItsOutputCap() {
        String chat = "{\"model\":\"m\",\"max_tokens\":200,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
        assertEquals(chat.length() / 4 + 200, TokenCount.mayUse(chat, chat.length()));
        String ollama = "{\"model\":\"m\",\"prompt\":\"hi\",\"options\":{\"num_predict\":64}}";
        assertEquals(ollama.length() / 4 + 64, TokenCount.mayUse(ollama, ollama.length()));
        String uncapped = "{\"model\":\"m\",\"input\":\"hi\"}";
        assertEquals(uncapped.length() / 4, TokenCount.mayUse(uncapped, uncapped.length()));
    }
}
