package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CliTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void helpExplainsEveryServeOption() {
        Run r = run("serve", "--help");
        assertEquals(0, r.code());
        for (String option : new String[] {"--host", "--port", "--config", "--socket-dir"}) {
            assertTrue(r.out().contains(option), option + " in:\n" + r.out());
        }
        assertTrue(r.out().contains("12434"));
        assertTrue(run("--help").out().contains("bench"));
    }

    @Test
    void aBadOptionGetsOneLine() {
        Run r = run("serve", "--prot", "1");
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("llmrt: Unknown option") && r.err().contains("'--prot'"), r.err());
        Run notANumber = run("serve", "--port", "abc");
        assertEquals(2, notANumber.code());
        assertEquals(1, notANumber.err().strip().lines().count(), notANumber.err());
    }

    @Test
    void aPrintedKeyEntryIsHoconThatKeepsWhatWasTyped() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream was = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, Main.commandLine().execute("keys", "create", "--print-config", "--name", "team \"a\" \\ b",
                    "--models", "ai/smollm2:latest,m\"2", "--rpm", "5"));
        } finally {
            System.setOut(was);
        }
        String entry = out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{ name")).findFirst().orElseThrow();
        Config parsed = ConfigFactory.parseString("entry = " + entry).getConfig("entry");
        assertEquals("team \"a\" \\ b", parsed.getString("name"), entry);
        assertEquals(List.of("ai/smollm2:latest", "m\"2"), parsed.getStringList("models"), entry);
        assertEquals(5, parsed.getInt("rpm"));
    }
}
