// OpenAI's official npm client against `dilmodeli serve` (run by tests/serve/openai_client.sh):
// chat and completions, whole and streamed, the model list, and a bad request as an APIError.
import assert from "node:assert/strict";
import OpenAI from "openai";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

const models = await client.models.list();
assert.equal(models.data[0].id, model);

const chat = await client.chat.completions.create({
  model, messages: [{ role: "system", content: "Tell stories." }, { role: "user", content: "A story?" }],
  max_tokens: 12, temperature: 0,
});
assert.equal(chat.object, "chat.completion");
assert.equal(chat.choices[0].message.role, "assistant");
assert.equal(chat.usage.completion_tokens, 12);
assert.equal(chat.choices[0].finish_reason, "length");

let streamed = "";
let finish = null;
const stream = await client.chat.completions.create({
  model, messages: [{ role: "system", content: "Tell stories." }, { role: "user", content: "A story?" }],
  max_tokens: 12, temperature: 0, stream: true,
});
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
assert.equal(streamed, chat.choices[0].message.content);
assert.equal(finish, "length");

const completion = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0 });
assert.ok(completion.choices[0].text.startsWith(", there was"), completion.choices[0].text);

await assert.rejects(
  client.completions.create({ model, prompt: "Once", max_tokens: -3 }),
  (e) => e instanceof OpenAI.APIError && e.status === 400 && /max_tokens/.test(e.message));
await assert.rejects(
  new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 }).models.list(),
  (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
console.log("openai client: 6 checks passed");
