package dev.llmrt.deploy;

import static dev.llmrt.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Nodes of one cluster in this JVM, each an {@link LlmrtNode} on the embedded profile with its own
 * port: the first forms the cluster, the others join it by seed node. Closing stops them all and
 * checks that no runner process outlived them.
 */
final class InJvmCluster implements AutoCloseable {
    /** What every node of a test cluster needs besides the test's own settings. */
    private static final String IN_ONE_JVM = """
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            pekko.cluster.distributed-data.gossip-interval = 200ms
            pekko.cluster.distributed-data.notify-subscribers-interval = 100ms
            """;

    final List<LlmrtNode> nodes = new ArrayList<>();
    final List<LlmrtNode.Started> started = new ArrayList<>();
    private final String common;
    /** The test's own processes from before the cluster (a registry, say): not the nodes' to stop. */
    private final List<Long> before = ProcessHandle.current().children().map(ProcessHandle::pid).toList();

    /** @param common HOCON every node gets (the model catalog, timings) */
    InJvmCluster(String common) {
        this.common = common;
    }

    /** Starts a node with {@code own} settings on top of the common ones, joined to the first node. */
    LlmrtNode.Started start(String own) throws Exception {
        String seed = nodes.isEmpty() ? "" : "\npekko.cluster.seed-nodes = [\"" + seed() + "\"]";
        Config config = ConfigFactory.parseString(own + seed)
                .withFallback(ConfigFactory.parseString(common + "\n" + IN_ONE_JVM))
                .withFallback(ServeCommand.load(null, "127.0.0.1", 0, null));
        LlmrtNode node = LlmrtNode.start(config);
        nodes.add(node);
        LlmrtNode.Started s = node.started().toCompletableFuture().get(60, TimeUnit.SECONDS);
        started.add(s);
        return s;
    }

    /** The members the first node sees, in any state (those that left are gone). */
    long members() {
        return StreamSupport.stream(Cluster.get(nodes.get(0).system()).state().getMembers().spliterator(), false).count();
    }

    /** The members the first node sees up. */
    long membersUp() {
        return StreamSupport.stream(Cluster.get(nodes.get(0).system()).state().getMembers().spliterator(), false)
                .filter(m -> m.status() == MemberStatus.up()).count();
    }

    /** The first node's cluster address. */
    String seed() {
        return Cluster.get(nodes.get(0).system()).selfMember().address().toString();
    }

    @Override
    public void close() throws Exception {
        for (LlmrtNode n : nodes) {
            n.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        // a short-lived helper a node started just before it stopped (a GPU reading's nvidia-smi) may take
        // a moment to end on a loaded machine; a runner that outlived its node never does
        eventually(Duration.ofSeconds(15), () -> assertEquals(List.of(), leftovers(), "runner processes outlived their nodes"));
    }

    private List<String> leftovers() {
        return ProcessHandle.current().children().filter(ProcessHandle::isAlive)
                .filter(p -> !before.contains(p.pid()))
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
    }
}
