package dev.llmrt.runtime.gguf;

import dev.llmrt.runtime.gguf.GgufWriter.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Generates a small random-weight llama-architecture GGUF that llama-server loads and runs, for
 * tests and demos. What makes it work (see NOTES-llama-server.md): a SentencePiece vocabulary
 * with all 256 byte tokens, dims innermost first, alignment padding, and printable output: the
 * last embedding channel is a constant kept constant through the residual stream (its rows of
 * attn_output and ffn_down are zero), and every non-text token has a large negative output weight
 * on it, so greedy decoding only ever picks text tokens and never the end of sequence.
 */
public final class TinyLlamaModel {
    /** The shape of the generated model. */
    public record Shape(int nEmbd, int nLayer, int nHead, int nHeadKv, int nFf, int contextLength, long seed) {
        public static final Shape DEFAULT = new Shape(64, 2, 4, 4, 128, 2048, 42);
    }

    private static final String CHAT_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static final String[] WORDS = ("the of and to in is was for on that with as by at from it an be this are "
            + "or his her which one all were they but not had have been has their more when there can who will would "
            + "about out so up what into its time only other new some could these two may first then do any like "
            + "my now over such our man me even most made after also did many before must through back years where "
            + "much your way well down should because each just those people how too little state good very make world "
            + "still own see men work long get here between both life being under never day same another know while "
            + "last might us great old year off come since against go came right used take three").split(" ");

    private TinyLlamaModel() {}

    public static GgufWriter generate(Shape s) {
        Random rnd = new Random(s.seed());
        List<String> tokens = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        add(tokens, types, scores, "<unk>", 2, 0f);
        add(tokens, types, scores, "<s>", 3, 0f);
        add(tokens, types, scores, "</s>", 3, 0f);
        for (int b = 0; b < 256; b++) {
            add(tokens, types, scores, String.format("<0x%02X>", b), 6, 0f);
        }
        int firstText = tokens.size();
        add(tokens, types, scores, "\u2581", 1, -1f);
        for (char c = 'a'; c <= 'z'; c++) {
            add(tokens, types, scores, String.valueOf(c), 1, -2f);
        }
        for (int i = 0; i < WORDS.length; i++) {
            if (!tokens.contains("\u2581" + WORDS[i])) {
                add(tokens, types, scores, "\u2581" + WORDS[i], 1, -3f - i * 0.001f);
            }
        }
        int nVocab = tokens.size();
        int headDim = s.nEmbd() / s.nHead();
        int nEmbdKv = headDim * s.nHeadKv();
        int c = s.nEmbd() - 1; // the constant channel

        GgufWriter w = new GgufWriter()
                .put("general.architecture", Value.string("llama"))
                .put("general.name", Value.string("llmrt-tiny-llama"))
                .put("general.alignment", Value.u32(32))
                .put("general.file_type", Value.u32(0))
                .put("llama.context_length", Value.u32(s.contextLength()))
                .put("llama.embedding_length", Value.u32(s.nEmbd()))
                .put("llama.block_count", Value.u32(s.nLayer()))
                .put("llama.feed_forward_length", Value.u32(s.nFf()))
                .put("llama.attention.head_count", Value.u32(s.nHead()))
                .put("llama.attention.head_count_kv", Value.u32(s.nHeadKv()))
                .put("llama.rope.dimension_count", Value.u32(headDim))
                .put("llama.rope.freq_base", Value.f32(10000f))
                .put("llama.attention.layer_norm_rms_epsilon", Value.f32(1e-5f))
                .put("llama.vocab_size", Value.u32(nVocab))
                .put("tokenizer.ggml.model", Value.string("llama"))
                .put("tokenizer.ggml.tokens", Value.strings(tokens))
                .put("tokenizer.ggml.scores", Value.floats(toFloats(scores)))
                .put("tokenizer.ggml.token_type", Value.ints(types.stream().mapToInt(Integer::intValue).toArray()))
                .put("tokenizer.ggml.bos_token_id", Value.u32(1))
                .put("tokenizer.ggml.eos_token_id", Value.u32(2))
                .put("tokenizer.ggml.unknown_token_id", Value.u32(0))
                .put("tokenizer.ggml.add_bos_token", Value.bool(true))
                .put("tokenizer.ggml.add_eos_token", Value.bool(false))
                .put("tokenizer.chat_template", Value.string(CHAT_TEMPLATE));

        float[] embd = random(rnd, nVocab * s.nEmbd(), 0.5f);
        for (int t = 0; t < nVocab; t++) {
            embd[t * s.nEmbd() + c] = 4f; // dominates the norm: the channel reads ~sqrt(n_embd) after it
        }
        w.tensor("token_embd.weight", GgmlType.F32, embd, s.nEmbd(), nVocab);
        w.tensor("output_norm.weight", GgmlType.F32, ones(s.nEmbd()), s.nEmbd());
        float[] output = random(rnd, nVocab * s.nEmbd(), 1f);
        for (int t = 0; t < nVocab; t++) {
            output[t * s.nEmbd() + c] = t < firstText ? -100f : 0f;
        }
        w.tensor("output.weight", GgmlType.F32, output, s.nEmbd(), nVocab);
        for (int l = 0; l < s.nLayer(); l++) {
            String p = "blk." + l + ".";
            w.tensor(p + "attn_norm.weight", GgmlType.F32, ones(s.nEmbd()), s.nEmbd());
            w.tensor(p + "attn_q.weight", GgmlType.F32, random(rnd, s.nEmbd() * s.nEmbd(), 0.2f), s.nEmbd(), s.nEmbd());
            w.tensor(p + "attn_k.weight", GgmlType.F32, random(rnd, s.nEmbd() * nEmbdKv, 0.2f), s.nEmbd(), nEmbdKv);
            w.tensor(p + "attn_v.weight", GgmlType.F32, random(rnd, s.nEmbd() * nEmbdKv, 0.2f), s.nEmbd(), nEmbdKv);
            w.tensor(p + "attn_output.weight", GgmlType.F32, zeroRow(random(rnd, s.nEmbd() * s.nEmbd(), 0.2f), c, s.nEmbd()),
                    s.nEmbd(), s.nEmbd());
            w.tensor(p + "ffn_norm.weight", GgmlType.F32, ones(s.nEmbd()), s.nEmbd());
            w.tensor(p + "ffn_gate.weight", GgmlType.F32, random(rnd, s.nEmbd() * s.nFf(), 0.2f), s.nEmbd(), s.nFf());
            w.tensor(p + "ffn_up.weight", GgmlType.F32, random(rnd, s.nEmbd() * s.nFf(), 0.2f), s.nEmbd(), s.nFf());
            w.tensor(p + "ffn_down.weight", GgmlType.F32, zeroRow(random(rnd, s.nFf() * s.nEmbd(), 0.2f), c, s.nFf()),
                    s.nFf(), s.nEmbd());
        }
        return w;
    }

    private static void add(List<String> tokens, List<Integer> types, List<Float> scores, String t, int type, float score) {
        tokens.add(t);
        types.add(type);
        scores.add(score);
    }

    private static float[] toFloats(List<Float> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    private static float[] random(Random rnd, int n, float scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (rnd.nextGaussian() * scale);
        }
        return out;
    }

    private static float[] ones(int n) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, 1f);
        return out;
    }

    /** Zeroes output channel {@code row} of a matrix stored as rows of {@code rowLength}. */
    private static float[] zeroRow(float[] m, int row, int rowLength) {
        java.util.Arrays.fill(m, row * rowLength, (row + 1) * rowLength, 0f);
        return m;
    }
}
