package dev.llmrt.gateway.recorder;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * {@code GET /engines/requests[?model=m]}: the recorder's last requests per model as JSON, or, with
 * {@code Accept: text/event-stream}, model-runner's event stream: {@code existing_request} events
 * first when {@code include_existing=true}, then {@code connected}, then a {@code new_request} event
 * as each request ends. A subscriber too slow to read loses the oldest events, never slows requests.
 */
public final class RecorderRoutes extends AllDirectives {
    private final RequestRecorder recorder;
    private final Source<Pair<String, ServerSentEvent>, NotUsed> ended;
    private final AtomicInteger subscribers = new AtomicInteger();
    private final Executor callbacks;

    public RecorderRoutes(RequestRecorder recorder, Materializer materializer) {
        this.recorder = recorder;
        this.callbacks = materializer.executionContext();
        Pair<SourceQueueWithComplete<Pair<String, ServerSentEvent>>, Source<Pair<String, ServerSentEvent>, NotUsed>> hub =
                Source.<Pair<String, ServerSentEvent>>queue(256, OverflowStrategy.dropHead())
                        .toMat(BroadcastHub.of(pairClass(), 256), Keep.both()).run(materializer);
        this.ended = hub.second();
        recorder.listen(r -> {
            if (subscribers.get() > 0) { // the event's JSON is made only for someone who reads it
                hub.first().offer(Pair.create(r.model, ServerSentEvent.create(recorder.single(r).toString(), "new_request")));
            }
        });
        hub.second().runWith(Sink.ignore(), materializer); // drains while no one listens
    }

    @SuppressWarnings("unchecked")
    private static Class<Pair<String, ServerSentEvent>> pairClass() {
        return (Class<Pair<String, ServerSentEvent>>) (Class<?>) Pair.class;
    }

    /** Under {@code /engines}; the caller mounts it at the root and under /exp/vDD4.40. */
    public Route route() {
        return path(PathMatchers.segment("engines").slash("requests"), () -> get(() ->
                parameterOptional("model", model -> parameterOptional("include_existing", existing ->
                        optionalHeaderValueByName("Accept", accept -> {
                            if (accept.filter(a -> a.contains("text/event-stream")).isPresent()) {
                                return completeOK(events(model.orElse(null), existing.filter("true"::equals).isPresent()),
                                        EventStreamMarshalling.toEventStream());
                            }
                            return complete(HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON,
                                    recorder.records(model.orElse(null)).toString()));
                        })))));
    }

    private Source<ServerSentEvent, NotUsed> events(String model, boolean includeExisting) {
        List<ServerSentEvent> first = new ArrayList<>();
        if (includeExisting) {
            recorder.records(model).forEach(group -> group.path("records").forEach(record -> {
                ObjectNode one = (ObjectNode) group.deepCopy();
                one.put("count", 1);
                one.putArray("records").add(record);
                first.add(ServerSentEvent.create("[" + one + "]", "existing_request"));
            }));
        }
        first.add(ServerSentEvent.create("{\"status\": \"connected\"}", "connected"));
        return Source.from(first)
                .concat(ended.filter(e -> model == null || model.equals(e.first())).map(Pair::second))
                .keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat)
                .watchTermination((mat, done) -> {
                    subscribers.incrementAndGet();
                    done.whenCompleteAsync((d, e) -> subscribers.decrementAndGet(), callbacks);
                    return mat;
                });
    }
}
