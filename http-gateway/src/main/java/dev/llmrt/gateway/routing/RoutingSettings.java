package dev.llmrt.gateway.routing;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How requests are spread over a model's replicas and how many may wait, read once from
 * {@code llmrt.gateway.routing}; a model's catalog entry may override the limits.
 *
 * @param maxConcurrencyPerReplica requests one replica has outstanding from this gateway at most; more wait
 * @param maxQueueLength           requests waiting for a replica per model at most; more get 429
 * @param maxQueueWait             how long a request may wait for a replica; then 503
 * @param retryAfter               what {@code Retry-After} says when a request is turned away
 * @param locateTimeout            how long to wait for a replica to say where it lives before asking again
 * @param warmRetry                how soon a replica whose runner failed to start is tried again
 * @param streamClaimTimeout       a streamed answer the HTTP layer never runs frees its replica's slot after this
 * @param acceptTimeout            a request its replica hasn't confirmed receiving within this is sent again
 * @param suspectAfter             a replica that hasn't confirmed a request sent this long ago gets new
 *                                 requests only when no other ready replica can take them
 * @param refreshInterval          how often runners' reported load is taken and elastic models are looked at
 * @param scaleUpOutstanding       outstanding requests per ready replica that count as overload
 * @param scaleUpAfter             an elastic model gets one more replica after this long overloaded
 * @param scaleDownAfter           its last replica in use is retired after this long without a request
 * @param scaleUpCooldown          after a replica that could not start, no new one for this long
 */
public record RoutingSettings(int maxConcurrencyPerReplica, int maxQueueLength, Duration maxQueueWait,
                             Duration retryAfter, Duration locateTimeout, Duration warmRetry, Duration streamClaimTimeout, Duration acceptTimeout, Duration suspectAfter,
                              Duration refreshInterval, int scaleUpOutstanding, Duration scaleUpAfter, Duration scaleDownAfter,
                              Duration scaleUpCooldown) {

    public static RoutingSettings fromConfig(Config root) {
        Config c = root.getConfig("llmrt.gateway.routing");
        return new RoutingSettings(c.getInt("max-concurrency-per-replica"), c.getInt("max-queue-length"),
                c.getDuration("max-queue-wait"), c.getDuration("retry-after"), c.getDuration("locate-timeout"),
                c.getDuration("warm-retry"), c.getDuration("stream-claim-timeout"), c.getDuration("accept-timeout"), c.getDuration("suspect-after"),
                c.getDuration("refresh-interval"), c.getInt("elastic.scale-up-outstanding"),
                c.getDuration("elastic.scale-up-after"), c.getDuration("elastic.scale-down-after"),
                c.getDuration("elastic.scale-up-cooldown"));
    }

    /** These settings with a model's own limits from its catalog entry, where it sets them. */
    public RoutingSettings forModel(Config entry) {
        return new RoutingSettings(
                entry.hasPath("max-concurrency-per-replica") ? entry.getInt("max-concurrency-per-replica") : maxConcurrencyPerReplica,
                entry.hasPath("max-queue-length") ? entry.getInt("max-queue-length") : maxQueueLength,
                entry.hasPath("max-queue-wait") ? entry.getDuration("max-queue-wait") : maxQueueWait,
                retryAfter, locateTimeout, warmRetry, streamClaimTimeout, acceptTimeout, suspectAfter, refreshInterval, scaleUpOutstanding,
                scaleUpAfter, scaleDownAfter, scaleUpCooldown);
    }
}
