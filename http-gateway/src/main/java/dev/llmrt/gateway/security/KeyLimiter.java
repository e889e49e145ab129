package dev.llmrt.gateway.security;

import dev.llmrt.agent.CborSerializable;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One API key's limits, for the whole cluster: a sharded entity per key, so N gateways share one
 * bucket and don't grant N times the limit. Requests per minute and tokens per minute are token
 * buckets that refill continuously (a burst of a minute's worth, then the rate). A request is let in
 * when the token bucket holds what it may use (its prompt and the output it asks for at most,
 * estimated by the gateway, and at most a minute's worth), which it takes at once, so that requests
 * in flight together can't spend the same tokens; when it ends, what its answer really used is
 * settled (the difference refunded or taken). Requests and streams at once are
 * permits, returned when the request ends, or after {@code permitTtl} if a gateway never returns
 * one (it died).
 */
public final class KeyLimiter {
    public static final EntityTypeKey<Command> TYPE = EntityTypeKey.create(Command.class, "api-key-limits");

    public interface Command extends CborSerializable {}

    /**
     * Asks to start one request under {@code limits} (the key's, as the asking gateway knows them),
     * reserving the {@code tokens} it may use.
     */
    public record Acquire(ApiKeys.Limits limits, boolean stream, long tokens, ActorRef<Decision> replyTo) implements Command {}

    /** The request with this permit ended, having used {@code tokens}. */
    public record Release(long permit, long tokens) implements Command {}

    /**
     * Granted when {@code permit} is positive; else refused with the code (rate or concurrency),
     * the reason, and when to retry.
     */
    public record Decision(long permit, String code, String message, long retryAfterMillis) implements CborSerializable {
        public boolean granted() {
            return permit > 0;
        }
    }

    private enum Expire implements Command { INSTANCE }

    private record Permit(boolean stream, long expiresAtNanos, long reserved) {}

    private KeyLimiter() {}

    public static Behavior<Command> create(String key, Duration permitTtl) {
        return Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Expire.INSTANCE, permitTtl.dividedBy(4).compareTo(Duration.ofSeconds(30)) < 0
                    ? permitTtl.dividedBy(4) : Duration.ofSeconds(30));
            return new State(key, permitTtl).behavior();
        });
    }

    private static final class State {
        private final String key;
        private final long ttlNanos;
        private final Map<Long, Permit> permits = new HashMap<>();
        private long nextPermit = 1;
        private double requests = Double.NaN; // full until first used
        private double tokens = Double.NaN;
        private long refilledAt = System.nanoTime();
        private ApiKeys.Limits limits = ApiKeys.Limits.NONE;

        State(String key, Duration permitTtl) {
            this.key = key;
            this.ttlNanos = permitTtl.toNanos();
        }

        Behavior<Command> behavior() {
            return Behaviors.receive(Command.class)
                    .onMessage(Acquire.class, this::acquire)
                    .onMessage(Release.class, r -> {
                        refill();
                        Permit p = permits.remove(r.permit());
                        if (limits.tpm() > 0) {
                            tokens -= r.tokens() - (p == null ? 0 : p.reserved()); // settled: refunded, or the rest taken
                        }
                        return Behaviors.same();
                    })
                    .onMessageEquals(Expire.INSTANCE, () -> {
                        long now = System.nanoTime();
                        permits.values().removeIf(p -> p.expiresAtNanos() - now < 0);
                        return Behaviors.same();
                    })
                    .build();
        }

        private Behavior<Command> acquire(Acquire a) {
            limits = a.limits();
            refill();
            long streams = permits.values().stream().filter(Permit::stream).count();
            if (limits.maxConcurrent() > 0 && permits.size() >= limits.maxConcurrent()) {
                a.replyTo().tell(refuse("concurrency_limit_exceeded", "API key '" + key + "' already has " + permits.size()
                        + " requests in flight, its limit (max-concurrent = " + limits.maxConcurrent() + ")", 1000));
            } else if (a.stream() && limits.maxStreams() > 0 && streams >= limits.maxStreams()) {
                a.replyTo().tell(refuse("stream_limit_exceeded", "API key '" + key + "' already has " + streams
                        + " streams open, its limit (max-streams = " + limits.maxStreams() + ")", 1000));
            } else if (limits.rpm() > 0 && requests < 1) {
                long wait = (long) Math.ceil((1 - requests) * 60_000 / limits.rpm());
                a.replyTo().tell(refuse("rate_limit_exceeded", "API key '" + key + "' is past its requests per minute (rpm = "
                        + limits.rpm() + ")", wait));
            } else if (limits.tpm() > 0 && (tokens <= 0 || tokens < Math.min(a.tokens(), limits.tpm()))) {
                long need = Math.max(1, Math.min(a.tokens(), limits.tpm()));
                long wait = (long) Math.ceil((need - tokens) * 60_000 / limits.tpm());
                a.replyTo().tell(refuse("token_limit_exceeded", "API key '" + key + "' is past its tokens per minute (tpm = "
                        + limits.tpm() + "): " + Math.max(0, (long) tokens) + " left, this request may use " + need, wait));
            } else {
                if (limits.rpm() > 0) {
                    requests -= 1;
                }
                long reserved = limits.tpm() > 0 ? Math.max(0, Math.min(a.tokens(), limits.tpm())) : 0;
                tokens -= reserved;
                long permit = nextPermit++;
                permits.put(permit, new Permit(a.stream(), System.nanoTime() + ttlNanos, reserved));
                a.replyTo().tell(new Decision(permit, "", "", 0));
            }
            return Behaviors.same();
        }

        private static Decision refuse(String code, String message, long retryAfterMillis) {
            return new Decision(0, code, message, Math.max(1, retryAfterMillis));
        }

        /** Refills both buckets for the time since the last refill, up to a minute's worth. */
        private void refill() {
            long now = System.nanoTime();
            double minutes = (now - refilledAt) / 60e9;
            refilledAt = now;
            requests = Double.isNaN(requests) ? limits.rpm() : Math.min(limits.rpm(), requests + minutes * limits.rpm());
            tokens = Double.isNaN(tokens) ? limits.tpm() : Math.min(limits.tpm(), tokens + minutes * limits.tpm());
        }
    }
}
