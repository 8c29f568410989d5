// Drives a live `ebb serve`'s OpenAI API with the official openai JavaScript client (pinned by
// scripts/clients.sh). Env: EBB_URL, CLIENTS_DIR, MODEL (any chat model), TOOL_MODEL (a Qwen 2.5
// template), GRAMMAR (forces TOOL_MODEL's output into a tool call; sent as llama-server's
// "grammar" field). Exits non-zero, saying what failed, on the first wrong answer.
const { createRequire } = require('node:module');
const assert = require('node:assert/strict');
const OpenAI = createRequire(process.env.CLIENTS_DIR + '/package.json')('openai');

const client = new OpenAI({ baseURL: process.env.EBB_URL + '/v1', apiKey: 'unused' });
const model = process.env.MODEL;
const toolModel = process.env.TOOL_MODEL;
const greedy = { temperature: 0, max_tokens: 8 };

async function step(name, f) {
  try {
    await f();
    console.log('ok', name);
  } catch (e) {
    console.log('FAILED', name, e && e.stack ? e.stack : e);
    process.exit(1);
  }
}

(async () => {
  await step('models', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes(model + ':latest'), JSON.stringify(ids));
    const one = await client.models.retrieve(model);
    assert.equal(one.id, model);
    assert.equal(one.object, 'model');
  });
  const messages = [{ role: 'user', content: 'Why is the sky blue?' }];
  let whole;
  await step('chat', async () => {
    whole = await client.chat.completions.create({ model, messages, ...greedy });
    assert.equal(whole.object, 'chat.completion');
    assert.match(whole.id, /^chatcmpl-/);
    assert.equal(whole.choices[0].message.role, 'assistant');
    assert.equal(whole.choices[0].finish_reason, 'length');
    assert.equal(whole.usage.completion_tokens, 8);
    assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + 8);
  });
  await step('chat streamed', async () => {
    const stream = await client.chat.completions.create({
      model, messages, ...greedy, stream: true, stream_options: { include_usage: true },
    });
    let text = '', finish = null, usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      if (!chunk.choices.length) continue;
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, 'length');
    assert.equal(usage.completion_tokens, 8);
  });
  await step('logprobs', async () => {
    const r = await client.chat.completions.create({ model, messages, ...greedy, logprobs: true, top_logprobs: 2 });
    const content = r.choices[0].logprobs.content;
    assert.equal(content.length, r.usage.completion_tokens);
    for (const e of content) {
      assert.equal(typeof e.token, 'string');
      assert.ok(e.logprob <= 0, String(e.logprob));
      assert.equal(e.top_logprobs.length, 2);
      assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob);
    }
    const spelled = Buffer.concat(content.map((e) => Buffer.from(e.bytes))).toString();
    assert.equal(spelled, r.choices[0].message.content);
    const stream = await client.chat.completions.create({
      model, messages, ...greedy, logprobs: true, stream: true,
    });
    let entries = 0;
    for await (const chunk of stream) entries += chunk.choices[0]?.logprobs?.content?.length ?? 0;
    assert.equal(entries, r.usage.completion_tokens);
  });
  await step('completions', async () => {
    const r = await client.completions.create({ model, prompt: 'Once upon a time', ...greedy });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.usage.completion_tokens, 8);
    const stream = await client.completions.create({ model, prompt: 'Once upon a time', ...greedy, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0].text;
    assert.equal(text, r.choices[0].text);
  });
  await step('embeddings', async () => {
    // The client asks for base64 and decodes it itself.
    const r = await client.embeddings.create({ model, input: ['a', 'b c'] });
    assert.equal(r.data.length, 2);
    const norm = Math.hypot(...r.data[0].embedding);
    assert.ok(Math.abs(norm - 1) < 1e-3, String(norm));
    const f = await client.embeddings.create({ model, input: 'a', encoding_format: 'float' });
    assert.deepEqual(f.data[0].embedding.map(Math.fround), r.data[0].embedding.map(Math.fround));
  });
  await step('tool call round trip', async () => {
    const tools = [{
      type: 'function',
      function: {
        name: 'get_weather', description: 'The weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    }];
    const turns = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.chat.completions.create({
      model: toolModel, messages: turns, tools, temperature: 0, max_tokens: 160, grammar: process.env.GRAMMAR,
    });
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(first));
    const call = choice.message.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.ok(['Paris', 'Rome'].includes(JSON.parse(call.function.arguments).city), call.function.arguments);
    turns.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '18 degrees' });
    const second = await client.chat.completions.create({ model: toolModel, messages: turns, tools, ...greedy });
    assert.ok(second.usage.prompt_tokens > first.usage.prompt_tokens);
  });
  const ask = { model, input: 'Why is the sky blue?', temperature: 0, max_output_tokens: 8 };
  let response;
  await step('responses', async () => {
    response = await client.responses.create(ask);
    assert.equal(response.object, 'response');
    assert.match(response.id, /^resp_/);
    assert.equal(response.status, 'incomplete', JSON.stringify(response));
    assert.equal(response.incomplete_details.reason, 'max_output_tokens');
    assert.equal(response.output[0].type, 'message');
    assert.equal(typeof response.output_text, 'string'); // the client's own sum of the message text
    assert.equal(response.usage.output_tokens, 8);
    assert.equal(response.usage.total_tokens, response.usage.input_tokens + 8);
  });
  await step('responses streamed', async () => {
    const stream = await client.responses.create({ ...ask, stream: true });
    const types = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    assert.deepEqual(types.slice(0, 4), [
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
    ]);
    assert.equal(types.at(-1), 'response.incomplete');
    assert.equal(text, response.output_text);
    // The client's helper rebuilds the response from the events, checking each against it.
    const final = await client.responses.stream(ask).finalResponse();
    assert.equal(final.output_text, response.output_text);
    assert.deepEqual(final.usage.output_tokens, 8);
  });
  await step('responses function call round trip', async () => {
    const tools = [{
      type: 'function', name: 'get_weather', description: 'The weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    }];
    const input = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.responses.create({
      model: toolModel, input, tools, temperature: 0, max_output_tokens: 160, grammar: process.env.GRAMMAR,
    });
    const call = first.output.find((item) => item.type === 'function_call');
    assert.ok(call, JSON.stringify(first));
    assert.equal(call.name, 'get_weather');
    assert.ok(['Paris', 'Rome'].includes(JSON.parse(call.arguments).city), call.arguments);
    input.push(call, { type: 'function_call_output', call_id: call.call_id, output: '18 degrees' });
    const second = await client.responses.create({ model: toolModel, input, tools, temperature: 0, max_output_tokens: 8 });
    assert.ok(second.usage.input_tokens > first.usage.input_tokens);
  });
  await step('errors', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages }), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, String(e));
      assert.equal(e.status, 404);
      assert.equal(e.type, 'not_found_error');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model, messages, n: 2 }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.match(e.message, /'n' must be 1/);
      return true;
    });
    await assert.rejects(client.responses.create({ ...ask, previous_response_id: 'resp_1' }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.match(e.message, /stateless/);
      return true;
    });
  });
})();
