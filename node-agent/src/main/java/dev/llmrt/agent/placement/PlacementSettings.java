package dev.llmrt.agent.placement;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The allocation strategy's tunables, read once from {@code llmrt.placement}.
 *
 * @param unhostedGrace       a shard whose model hasn't been loaded on its node this long is released
 * @param maxReleasesPerRound shards released per rebalance round at most
 * @param promiseTtl          room promised to a model counts as taken this long at most
 * @param regionWait          how long an allocation waits for a fitting node's shard region to register
 * @param moveCooldown        a loaded replica moved to make room stays where it went this long
 */
public record PlacementSettings(Duration unhostedGrace, int maxReleasesPerRound, Duration promiseTtl, Duration regionWait,
                                Duration moveCooldown) {
    public static PlacementSettings fromConfig(Config root) {
        Config c = root.getConfig("llmrt.placement");
        return new PlacementSettings(c.getDuration("unhosted-grace"), c.getInt("max-releases-per-round"),
                c.getDuration("promise-ttl"), c.getDuration("region-wait"), c.getDuration("move-cooldown"));
    }
}
