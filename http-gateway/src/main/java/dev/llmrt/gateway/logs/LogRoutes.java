package dev.llmrt.gateway.logs;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * model-runner's {@code GET /logs}: this node's recent log lines, its runners' output among them,
 * as plain text; {@code no-engines=true} leaves the runners' lines out, {@code follow=true} keeps
 * the answer open and sends each new line as it is logged (a reader too slow loses the oldest).
 */
public final class LogRoutes extends AllDirectives {
    private final Executor callbacks;

    public LogRoutes(Executor callbacks) {
        this.callbacks = callbacks;
    }

    public Route route() {
        return path("logs", () -> get(() -> parameterOptional("follow", follow -> parameterOptional("no-engines", noEngines -> {
            Optional<Boolean> f = bool(follow);
            Optional<Boolean> n = bool(noEngines);
            if (f.isEmpty() || n.isEmpty()) {
                return complete(HttpResponse.create().withStatus(400).withEntity(ContentTypes.TEXT_PLAIN_UTF8,
                        "follow and no-engines take true or false"));
            }
            boolean engines = !n.get();
            StringBuilder now = new StringBuilder();
            List<RecentLogs.Line> lines = RecentLogs.lines();
            lines.stream().filter(l -> engines || !l.engine()).forEach(l -> now.append(l.text()));
            if (!f.get()) {
                return complete(HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, now.toString()));
            }
            Source<ByteString, NotUsed> next = Source.<RecentLogs.Line>queue(1024, OverflowStrategy.dropHead())
                    .mapMaterializedValue(queue -> {
                        Runnable stop = RecentLogs.follow(queue::offer);
                        queue.watchCompletion().whenCompleteAsync((d, e) -> stop.run(), callbacks);
                        return NotUsed.getInstance();
                    })
                    .filter(l -> engines || !l.engine())
                    .map(l -> ByteString.fromString(l.text()));
            return complete(HttpResponse.create().withEntity(HttpEntities.createChunked(ContentTypes.TEXT_PLAIN_UTF8,
                    Source.single(ByteString.fromString(now.toString())).concat(next))));
        }))));
    }

    /** Go's strconv.ParseBool forms, as model-runner reads them; absent is false. */
    private static Optional<Boolean> bool(Optional<String> v) {
        if (v.isEmpty()) {
            return Optional.of(false);
        }
        return switch (v.get()) {
            case "1", "t", "T", "true", "TRUE", "True" -> Optional.of(true);
            case "0", "f", "F", "false", "FALSE", "False" -> Optional.of(false);
            default -> Optional.empty();
        };
    }
}
