package dev.llmrt.runtime.flags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class RuntimeFlagsTest {

    @Test
    void allowedFlagsPassUnchanged() {
        List<String> flags = List.of("--threads", "4", "-c", "8192", "--temp=-0.5", "--top-p=0.9", "-fa", "off",
                "--rope-freq-base=1e6", "--seed=-1");
        assertEquals(flags, RuntimeFlags.validate("llama.cpp", RuntimeFlags.LLAMA_CPP, flags));
        assertEquals(List.of("--max-model-len", "4096", "--enforce-eager"),
                RuntimeFlags.validate("vllm", RuntimeFlags.VLLM, List.of("--max-model-len", "4096", "--enforce-eager")));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "--log-file=/tmp/x         | runtime flag '--log-file=/tmp/x' is not allowed for backend llama.cpp: it contains a path separator",
            "--log-file                | runtime flag '--log-file' is not allowed for backend llama.cpp: it is not on the backend's allowlist",
            "--model                   | runtime flag '--model' is not allowed for backend llama.cpp: it is not on the backend's allowlist",
            "--lora                    | '--lora' is not allowed",
            "--chat-template-file      | '--chat-template-file' is not allowed",
            "--slot-save-path          | '--slot-save-path' is not allowed",
            "--mmproj                  | '--mmproj' is not allowed",
            "--seed=--log-file=x       | its value starts with '-' and is not a negative number",
            "--temp=-x                 | its value starts with '-' and is not a negative number",
            "..\\\\secret               | it contains a path separator",
            "-1                        | runtime flag '-1' is not allowed",
    })
    void dangerousFlagsAreRefusedNamingFlagBackendAndWhy(String flag, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RuntimeFlags.validate("llama.cpp", RuntimeFlags.LLAMA_CPP, List.of("--threads", "2", flag)));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void aValueNamingAFileIsRefusedToo() {
        assertThrows(IllegalArgumentException.class,
                () -> RuntimeFlags.validate("llama.cpp", RuntimeFlags.LLAMA_CPP, List.of("--chat-template", "/etc/passwd")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RuntimeFlags.validate("vllm", RuntimeFlags.VLLM, List.of("--trust-remote-code")));
        assertTrue(e.getMessage().contains("backend vllm"), e.getMessage());
    }

    @Test
    void rawFlagsSplitLikeAShellWithoutExpanding() {
        assertEquals(List.of("--ctx-size", "4096", "--chat-template", "a b", "--x=it's", "$HOME"),
                RuntimeFlags.splitShellWords("  --ctx-size 4096 --chat-template 'a b' --x=\"it's\" $HOME "));
        assertEquals(List.of("a b"), RuntimeFlags.splitShellWords("a\\ b"));
        assertEquals(List.of(""), RuntimeFlags.splitShellWords("''"));
        assertThrows(IllegalArgumentException.class, () -> RuntimeFlags.splitShellWords("--x 'open"));
    }
}
