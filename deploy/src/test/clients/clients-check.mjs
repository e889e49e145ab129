// Drives the gateway with each API's official client library, unchanged: node clients-check.mjs <base-url> <model>
// Prints one line per check and exits non-zero at the first that fails.
import { Ollama } from "ollama";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

const [base, model] = process.argv.slice(2);
const results = [];
function check(name, ok, detail) {
  results.push(name);
  console.log(`${ok ? "ok" : "FAILED"} ${name}: ${detail}`);
  if (!ok) process.exit(1);
}
const words = (s) => s.trim().split(/\s+/).filter(Boolean).length;

// Ollama's JavaScript library
const ollama = new Ollama({ host: base });
const chat = await ollama.chat({ model, messages: [{ role: "user", content: "hi" }], stream: false, options: { num_predict: 4 } });
check("ollama chat", chat.done && words(chat.message.content) === 4, JSON.stringify(chat.message));
let parts = 0, text = "", last = null;
for await (const part of await ollama.chat({ model, messages: [{ role: "user", content: "hi" }], stream: true })) {
  parts++; text += part.message.content; last = part;
}
check("ollama chat stream", parts > 2 && last.done && words(text) > 1, `${parts} parts, "${text.trim()}"`);
const gen = await ollama.generate({ model, prompt: "say something", stream: false });
check("ollama generate", gen.done && words(gen.response) > 0, JSON.stringify(gen.response));
const list = await ollama.list();
check("ollama list", list.models.some((m) => m.name === model), list.models.map((m) => m.name).join(", "));
const embed = await ollama.embed({ model, input: ["a b", "c"] });
check("ollama embed", embed.embeddings.length === 2 && embed.embeddings[0].length > 0, `${embed.embeddings.length} vectors`);

// Anthropic's TypeScript SDK
const anthropic = new Anthropic({ baseURL: base, apiKey: "not-needed-here" });
const msg = await anthropic.messages.create({ model, max_tokens: 5, messages: [{ role: "user", content: "hello there" }] });
check("anthropic message", msg.type === "message" && words(msg.content[0].text) === 5 && msg.stop_reason === "max_tokens",
  JSON.stringify(msg.content));
let deltas = "";
const stream = anthropic.messages.stream({ model, max_tokens: 6, messages: [{ role: "user", content: "hello" }] });
stream.on("text", (t) => { deltas += t; });
const final = await stream.finalMessage();
check("anthropic stream", words(deltas) === 6 && final.content[0].text === deltas && final.usage.output_tokens === 6,
  JSON.stringify(final.usage));
const count = await anthropic.messages.countTokens({ model, messages: [{ role: "user", content: "one two three" }] });
check("anthropic count_tokens", count.input_tokens === 3, JSON.stringify(count));

// OpenAI's SDK: chat completions and the Responses API
const openai = new OpenAI({ baseURL: base + "/v1", apiKey: "not-needed-here" });
const completion = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 3 });
check("openai chat", words(completion.choices[0].message.content) === 3, completion.choices[0].message.content);
const response = await openai.responses.create({ model, input: "hi", instructions: "be brief" });
check("openai responses", response.status === "completed" && words(response.output_text) > 0, response.output_text);
const next = await openai.responses.create({ model, input: "and then?", previous_response_id: response.id });
check("openai responses previous_response_id", next.status === "completed" && next.usage.input_tokens > 2,
  JSON.stringify(next.usage));
let events = 0, completed = null;
for await (const event of await openai.responses.create({ model, input: "hi", stream: true })) {
  events++;
  if (event.type === "response.completed") completed = event.response;
}
check("openai responses stream", completed !== null && words(completed.output_text) > 0, `${events} events`);
const fetched = await openai.responses.retrieve(response.id);
check("openai responses retrieve", fetched.id === response.id, fetched.id);
console.log(`all ${results.length} checks passed`);
