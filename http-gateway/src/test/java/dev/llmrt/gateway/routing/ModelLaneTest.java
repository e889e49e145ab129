package dev.llmrt.gateway.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmrt.agent.InferenceProtocol;
import dev.llmrt.agent.runner.RunnerSupervisor;
import dev.llmrt.gateway.Routed;
import dev.llmrt.runtime.spi.BackendMode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * A lane's decisions with stub replicas, a hand-driven clock and callbacks run when the test says:
 * which replica takes each request, what waits, what is refused, and what is sent again.
 */
class ModelLaneTest {
    private static final InferenceProtocol.Request CHAT = new InferenceProtocol.Request("/v1/chat/completions",
            "{}".getBytes(StandardCharsets.UTF_8), null);
    private static final InferenceProtocol.Completed OK = new InferenceProtocol.Completed(200, "application/json", new byte[0]);
    private static final RoutingSettings SETTINGS = new RoutingSettings(4, 3, Duration.ofSeconds(2), Duration.ofSeconds(1),
            Duration.ofSeconds(3), Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMillis(300),
            Duration.ofSeconds(1), 2, Duration.ofSeconds(3), Duration.ofSeconds(60), Duration.ofSeconds(30));

    /** Replicas that answer when told, on nodes the test names, and a clock the test moves. */
    private static final class Stub implements ModelLane.Replicas {
        final Deque<Runnable> callbacks = new ArrayDeque<>();
        final Map<Integer, String> nodes = new HashMap<>();
        final Map<Integer, List<CompletableFuture<InferenceProtocol.Reply>>> sent = new HashMap<>();
        final Map<Integer, List<Runnable>> acceptances = new HashMap<>();
        final List<long[]> timers = new ArrayList<>();
        final List<Runnable> timerTasks = new ArrayList<>();
        boolean autoAccept = true;
        boolean manualWarm;
        final Map<Integer, CompletableFuture<InferenceProtocol.Warmed>> warmed = new HashMap<>();
        final List<Integer> warms = new ArrayList<>();
        long now;

        @Override
        public CompletionStage<InferenceProtocol.Reply> route(int replica, InferenceProtocol.Request request, Duration timeout,
                                                              Runnable accepted) {
            CompletableFuture<InferenceProtocol.Reply> f = new CompletableFuture<>();
            sent.computeIfAbsent(replica, k -> new ArrayList<>()).add(f);
            if (autoAccept) {
                callbacks.add(accepted);
            } else {
                acceptances.computeIfAbsent(replica, k -> new ArrayList<>()).add(accepted);
            }
            return f;
        }

        @Override
        public CompletionStage<InferenceProtocol.Located> locate(int replica, Duration timeout) {
            String node = nodes.get(replica);
            return node == null ? new CompletableFuture<>() : CompletableFuture.completedFuture(new InferenceProtocol.Located(node));
        }

        @Override
        public CompletionStage<InferenceProtocol.Warmed> warm(int replica, Duration timeout) {
            CompletableFuture<InferenceProtocol.Warmed> f = new CompletableFuture<>();
            warmed.put(replica, f);
            warms.add(replica);
            if (!manualWarm) {
                f.complete(new InferenceProtocol.Warmed(nodes.get(replica), true, null, runner));
            }
            return f;
        }

        @Override
        public Cancellable schedule(Duration delay, Runnable task) {
            long[] due = {now + delay.toMillis(), 0};
            timers.add(due);
            timerTasks.add(task);
            return new Cancellable() {
                @Override
                public boolean cancel() {
                    due[1] = 1;
                    return true;
                }

                @Override
                public boolean isCancelled() {
                    return due[1] == 1;
                }
            };
        }

        final List<Integer> retired = new ArrayList<>();
        final Map<String, Integer> reported = new HashMap<>();

        @Override
        public int reportedQueue(String node) {
            return reported.getOrDefault(node, 0);
        }

        @Override
        public void retire(int replica) {
            retired.add(replica);
        }

        @Override
        public void discard(InferenceProtocol.Stream stream) {}

        /** When set, warm-ups answer that this runner is ready, and requests may go to it straight. */
        ActorRef<RunnerSupervisor.Command> runner;
        final List<CompletableFuture<InferenceProtocol.Reply>> direct = new ArrayList<>();
        final Map<ActorRef<?>, Runnable> watches = new HashMap<>();

        @Override
        public CompletionStage<InferenceProtocol.Reply> direct(ActorRef<RunnerSupervisor.Command> to,
                                                               InferenceProtocol.Request request, Duration timeout) {
            CompletableFuture<InferenceProtocol.Reply> f = new CompletableFuture<>();
            direct.add(f);
            return f;
        }

        @Override
        public void watch(ActorRef<RunnerSupervisor.Command> to, Runnable gone) {
            watches.put(to, gone);
        }

        /** Runs the callbacks that are due, as the dispatcher would. */
        void pump() {
            while (!callbacks.isEmpty()) {
                callbacks.poll().run();
            }
        }

        void advance(Duration d) {
            now += d.toMillis();
            for (int i = 0; i < timers.size(); i++) {
                long[] t = timers.get(i);
                if (t[1] == 0 && t[0] <= now) {
                    t[1] = 1;
                    timerTasks.get(i).run();
                }
            }
            pump();
        }

        int count(int replica) {
            return sent.getOrDefault(replica, List.of()).size();
        }

        /** Answers every request sent to {@code replica} so far. */
        void answerAll(int replica) {
            sent.getOrDefault(replica, List.of()).forEach(f -> f.complete(OK));
            pump();
        }
    }

    private static ModelLane lane(Stub stub, int replicas) {
        return new ModelLane("m", BackendMode.COMPLETION, replicas, replicas, replicas, SETTINGS, Duration.ofMinutes(10), stub,
                stub.callbacks::add, () -> stub.now * 1_000_000);
    }

    /** An elastic lane: one replica in use of two, on node-0 and node-1. */
    private static ModelLane elasticLane(Stub stub) {
        stub.nodes.put(0, "node-0");
        stub.nodes.put(1, "node-1");
        return new ModelLane("m", BackendMode.COMPLETION, 2, 1, 1, SETTINGS, Duration.ofMinutes(10), stub,
                stub.callbacks::add, () -> stub.now * 1_000_000);
    }

    /** A lane whose replicas are placed on node-0, node-1, ... and ready. */
    private static ModelLane readyLane(Stub stub, int replicas) {
        for (int i = 0; i < replicas; i++) {
            stub.nodes.put(i, "node-" + i);
        }
        ModelLane lane = lane(stub, replicas);
        lane.submit(CHAT, null); // the first request locates and warms them all
        stub.pump();
        stub.answerAll(0);
        stub.answerAll(1);
        stub.sent.clear();
        lane.replicas().forEach(r -> assertTrue(r.ready(), r.toString()));
        return lane;
    }

    @Test
    void aReadyRunnerIsSentRequestsStraightUntilItDrainsOrStops() {
        ActorSystem<RunnerSupervisor.Command> runner = ActorSystem.create(Behaviors.empty(), "lane-direct");
        try {
            Stub stub = new Stub();
            stub.runner = runner; // an actor system is an ActorRef: it stands for the runner
            stub.nodes.put(0, "node-0");
            ModelLane lane = lane(stub, 1);
            CompletionStage<Routed> first = lane.submit(CHAT, null);
            stub.pump();
            assertEquals(1, stub.count(0), "before its runner is known: through the replica");
            stub.answerAll(0);
            assertInstanceOf(Routed.Answered.class, first.toCompletableFuture().getNow(null));
            assertTrue(stub.watches.containsKey(runner), "the runner it learned is watched");

            CompletionStage<Routed> second = lane.submit(CHAT, null);
            stub.pump();
            assertEquals(1, stub.count(0));
            assertEquals(1, stub.direct.size(), "then straight to the runner");
            stub.direct.get(0).complete(OK);
            assertInstanceOf(Routed.Answered.class, second.toCompletableFuture().getNow(null));

            // the runner drains (its replica retires or moves): the request goes again through the replica
            CompletionStage<Routed> third = lane.submit(CHAT, null);
            stub.pump();
            stub.direct.get(1).complete(new InferenceProtocol.Failed(InferenceProtocol.FailureKind.RUNNER_GONE, "draining"));
            stub.pump();
            assertEquals(null, third.toCompletableFuture().getNow(null), "the client never sees RUNNER_GONE");
            assertEquals(2, stub.count(0), "sent again through the replica");
            stub.answerAll(0);
            assertInstanceOf(Routed.Answered.class, third.toCompletableFuture().getNow(null));

            // it is learned again; then it stops with a request unanswered: that request goes again
            CompletionStage<Routed> fourth = lane.submit(CHAT, null);
            stub.pump();
            assertEquals(3, stub.direct.size(), "learned again from the next warm-up");
            stub.watches.get(runner).run();
            stub.pump();
            assertEquals(3, stub.count(0), "the unanswered request went again through the replica");
            stub.answerAll(0);
            assertEquals(OK, ((Routed.Answered) fourth.toCompletableFuture().getNow(null)).reply());
            assertEquals(2, lane.counts().retried(), "two requests were sent again in all");
        } finally {
            runner.terminate();
        }
    }

    @Test
    void twoReadyReplicasShareTheLoadEvenly() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 2);
        for (int i = 0; i < 8; i++) {
            lane.submit(CHAT, null);
            stub.pump();
        }
        assertEquals(4, stub.count(0), "power of two choices over 2 replicas: always the less loaded");
        assertEquals(4, stub.count(1));
    }

    @Test
    void aRunnersReportedQueueCountsWithThisGatewaysOwnRequests() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 2);
        stub.reported.put("node-0", 3); // 3 requests wait in replica 0's runner (another gateway's)
        for (int i = 0; i < 3; i++) {
            lane.submit(CHAT, null);
            stub.pump();
        }
        assertEquals(0, stub.count(0), "replica 0 reports 3 queued: this gateway's next 3 go to replica 1");
        assertEquals(3, stub.count(1));
    }

    @Test
    void aReplicaThatStopsConfirmingIsAvoidedBeforeItsNodeIsFoundUnreachable() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 2);
        stub.autoAccept = false; // replica 0's node died: nothing it is sent is confirmed
        lane.submit(CHAT, null);
        lane.submit(CHAT, null);
        stub.pump();
        stub.acceptances.getOrDefault(1, List.of()).forEach(Runnable::run); // replica 1 confirms
        stub.answerAll(1);
        stub.advance(Duration.ofMillis(301));
        int before = stub.count(0);
        for (int i = 0; i < 6; i++) {
            lane.submit(CHAT, null);
            stub.pump();
            stub.acceptances.getOrDefault(1, List.of()).forEach(Runnable::run);
            stub.answerAll(1);
        }
        assertEquals(before, stub.count(0), "replica 0 hasn't confirmed for 300 ms: new requests go to replica 1");
        for (int i = 0; i < 5; i++) {
            lane.submit(CHAT, null); // replica 1 full (4): only then the suspect one is tried
        }
        stub.pump();
        assertEquals(before + 1, stub.count(0));
    }

    @Test
    void aSlowReplicaGetsLessTraffic() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 2);
        for (int i = 0; i < 40; i++) {
            lane.submit(CHAT, null);
            stub.pump();
            stub.answerAll(1); // replica 1 answers at once; replica 0 never does
            stub.sent.remove(1);
        }
        assertTrue(stub.count(0) <= 1, "the stuck replica got " + stub.count(0) + " of 40");
    }

    @Test
    void anAffinityKeyStaysOnItsReplicaWhileItHasRoom() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 2);
        int preferred = Math.floorMod("client-7".hashCode(), 2);
        for (int i = 0; i < 4; i++) {
            lane.submit(CHAT, "client-7");
            stub.pump();
        }
        assertEquals(4, stub.count(preferred));
        lane.submit(CHAT, "client-7");
        stub.pump();
        assertEquals(1, stub.count(1 - preferred), "its replica is full (4): the other takes it");
    }

    @Test
    void pastTheQueueLengthA429AndPastTheWaitA503() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 1);
        for (int i = 0; i < 4; i++) {
            lane.submit(CHAT, null); // the replica's 4 slots
        }
        List<CompletionStage<Routed>> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiting.add(lane.submit(CHAT, null)); // the queue's 3 places
        }
        Routed.Refused full = assertInstanceOf(Routed.Refused.class, lane.submit(CHAT, null).toCompletableFuture().join());
        assertEquals(new Routed.Refused(429, "queue_full",
                "model 'm' already has 3 waiting for a replica, its limit (max-queue-length = 3); retry later",
                Duration.ofSeconds(1)), full);

        stub.advance(Duration.ofMillis(1999));
        waiting.forEach(w -> assertFalse(w.toCompletableFuture().isDone(), "still within the queue wait"));
        stub.advance(Duration.ofMillis(1));
        for (CompletionStage<Routed> w : waiting) {
            assertEquals(new Routed.Refused(503, "queue_timeout",
                    "model 'm' had no free replica within its queue wait (max-queue-wait = 2s); retry later",
                    Duration.ofSeconds(1)), w.toCompletableFuture().join());
        }
        assertEquals(new ModelLane.Counts(5, 0, 1, 3, 0), lane.counts(), "1 at warm-up and 4 routed, 1 full, 3 timed out");

        stub.answerAll(0); // the slots free: the next request goes at once
        lane.submit(CHAT, null);
        stub.pump();
        assertEquals(5, stub.count(0), "sent straight to the replica");
    }

    @Test
    void requestsOnAnUnreachableNodeGoToTheOtherReplica() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 2);
        List<CompletionStage<Routed>> results = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            results.add(lane.submit(CHAT, null));
            stub.pump();
        }
        assertEquals(2, stub.count(0));
        lane.nodeUnreachable("node-0");
        stub.pump();
        assertEquals(4, stub.count(1), "replica 1 had 2, and took replica 0's 2 again");
        assertEquals(2, lane.counts().retried());
        stub.answerAll(1);
        results.forEach(r -> assertEquals(new Routed.Answered(OK), r.toCompletableFuture().join()));
        stub.sent.get(0).forEach(f -> f.complete(OK)); // a late answer from the lost node changes nothing
        stub.pump();
        assertEquals(0, lane.replicas().get(1).outstanding());
        assertEquals(0, lane.replicas().get(0).outstanding());
    }

    @Test
    void withOneReplicaTheyWaitForItToBePlacedAgain() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 1);
        CompletionStage<Routed> r = lane.submit(CHAT, null);
        stub.pump();
        lane.nodeUnreachable("node-0");
        stub.pump();
        assertFalse(r.toCompletableFuture().isDone(), "it waits: no replica can take it");
        stub.nodes.put(0, "node-2"); // placed again on node-2 once node-0 is removed
        lane.nodeRemoved("node-0");
        stub.pump();
        assertEquals(2, stub.count(0), "sent again to the replica on its new node");
        assertEquals("node-2", lane.replicas().get(0).node());
        stub.sent.get(0).get(1).complete(OK);
        stub.pump();
        assertEquals(new Routed.Answered(OK), r.toCompletableFuture().join());
    }

    @Test
    void aRequestItsReplicaNeverAcceptedIsSentAgain() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 1);
        stub.autoAccept = false;
        CompletionStage<Routed> r = lane.submit(CHAT, null);
        stub.pump();
        stub.advance(SETTINGS.acceptTimeout());
        assertEquals(2, stub.count(0), "dropped (a shard hand-off): sent again");
        stub.acceptances.get(0).get(1).run();
        stub.sent.get(0).get(1).complete(OK);
        stub.pump();
        assertEquals(new Routed.Answered(OK), r.toCompletableFuture().join());
        assertEquals(1, lane.counts().retried());
    }

    @Test
    void whileNoReplicaIsReadyALoadingOneTakesRequestsButNotOnceAnotherIsReady() {
        Stub stub = new Stub();
        stub.nodes.put(0, "node-0");
        stub.nodes.put(1, "node-1");
        stub.manualWarm = true;
        ModelLane lane = lane(stub, 2);
        lane.submit(CHAT, null);
        lane.submit(CHAT, null);
        stub.pump();
        assertEquals(2, stub.count(0) + stub.count(1), "both loading: the requests wait in their runners' queues");
        stub.warmed.get(1).complete(new InferenceProtocol.Warmed("node-1", true, null));
        stub.pump();
        int before = stub.count(0);
        for (int i = 0; i < 3; i++) {
            lane.submit(CHAT, null);
            stub.pump();
        }
        assertEquals(before, stub.count(0), "replica 1 is ready: nothing more goes to the loading replica 0");
    }

    @Test
    void anElasticModelGetsAReplicaWhileOverloadedAndRetiresItWhenIdle() {
        Stub stub = new Stub();
        ModelLane lane = elasticLane(stub);
        lane.submit(CHAT, null);
        stub.pump();
        assertEquals(List.of("node-0", "null"), lane.replicas().stream().map(r -> String.valueOf(r.node())).toList(),
                "only replica 0 is in use, so only it is placed");
        for (int i = 0; i < 3; i++) {
            lane.submit(CHAT, null); // 4 outstanding on one ready replica: past scale-up-outstanding (2)
        }
        stub.pump();
        assertEquals(-1, lane.proposeActive(), "overloaded since now");
        stub.advance(Duration.ofSeconds(2));
        assertEquals(-1, lane.proposeActive(), "not for scale-up-after (3 s) yet");
        stub.advance(Duration.ofSeconds(1));
        assertEquals(2, lane.proposeActive(), "overloaded for 3 s: one more replica");
        lane.setActive(2);
        stub.pump();
        assertEquals("node-1", lane.replicas().get(1).node(), "the new replica is placed and warmed");
        lane.submit(CHAT, null);
        stub.pump();
        assertEquals(1, stub.count(1), "and takes the next request (it has the fewest)");

        stub.answerAll(0);
        stub.answerAll(1);
        stub.advance(Duration.ofSeconds(59));
        assertEquals(-1, lane.proposeActive(), "idle, but not for scale-down-after (60 s) yet");
        stub.advance(Duration.ofSeconds(1));
        assertEquals(1, lane.proposeActive(), "replica 1 idle for 60 s: retire it");
        lane.setActive(1);
        assertEquals(List.of(1), stub.retired, "its runner is told to unload");
        assertEquals(1, lane.active());
        assertEquals(-1, lane.proposeActive(), "never below min-replicas");
    }

    @Test
    void aRetiredReplicaIsNotWarmedAgainByAnAnswerThatWasOnItsWay() {
        Stub stub = new Stub();
        ModelLane lane = elasticLane(stub);
        lane.setActive(2);
        stub.pump();
        assertTrue(lane.replicas().get(1).ready(), "replica 1 is in use and ready");
        lane.relocate(); // the periodic question where each ready replica lives; its answers are on their way
        lane.setActive(1); // meanwhile the cluster agreed to retire replica 1
        assertEquals(List.of(1), stub.retired);
        int warmsBefore = Collections.frequency(stub.warms, 1);
        stub.pump(); // the answers arrive
        assertEquals(warmsBefore, Collections.frequency(stub.warms, 1),
                "the answer for a retired replica must not warm it again: its new runner would never be retired");
        assertNull(lane.replicas().get(1).node(), "a retired replica is out of use, not located");
    }

    @Test
    void aBrokenStreamEndsWithOneErrorEventInOpenAisShape() {
        assertEquals("data: {\"error\":{\"message\":\"node \\\"x\\\" lost\\nat once\",\"type\":\"server_error\","
                + "\"code\":\"stream_interrupted\"}}\n\n", ModelLane.sseError("node \"x\" lost\nat once").utf8String());
    }

    @Test
    void aReplicaThatMovedIsFollowedSoItsNewNodesLossIsNoticed() {
        Stub stub = new Stub();
        ModelLane lane = readyLane(stub, 1);
        stub.nodes.put(0, "node-5"); // its shard was released and placed afresh on node-5
        lane.relocate();
        stub.pump();
        assertEquals("node-5", lane.replicas().get(0).node());
        CompletionStage<Routed> r = lane.submit(CHAT, null);
        stub.pump();
        lane.nodeUnreachable("node-5");
        stub.pump();
        assertEquals(1, lane.counts().retried(), "the request on node-5 is sent again");
        assertFalse(r.toCompletableFuture().isDone());
    }
}
