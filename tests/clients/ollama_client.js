// Drives a live `ebb serve` with the official ollama JavaScript client (pinned by
// scripts/clients.sh). Env: EBB_URL, CLIENTS_DIR, MODEL (any chat model), TOOL_MODEL (a Qwen 2.5
// template), GRAMMAR (forces TOOL_MODEL's output into a tool call). Exits non-zero, saying what
// failed, on the first wrong answer.
const { createRequire } = require('node:module');
const assert = require('node:assert/strict');
const { Ollama } = createRequire(process.env.CLIENTS_DIR + '/package.json')('ollama');

const ollama = new Ollama({ host: process.env.EBB_URL });
const model = process.env.MODEL;
const toolModel = process.env.TOOL_MODEL;
const options = { temperature: 0, num_predict: 8 };

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
  await step('version', async () => {
    const v = await ollama.version();
    assert.equal(typeof v.version, 'string');
  });
  await step('generate', async () => {
    const r = await ollama.generate({ model, prompt: 'Why is the sky blue?', options });
    assert.equal(r.done, true);
    assert.equal(r.eval_count, 8);
    assert.ok(r.response.length > 0);
  });
  await step('chat streamed', async () => {
    const stream = await ollama.chat({ model, messages: [{ role: 'user', content: 'Hi' }], stream: true, options });
    let text = '', last;
    for await (const part of stream) {
      text += part.message.content;
      last = part;
    }
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'length');
    const whole = await ollama.chat({ model, messages: [{ role: 'user', content: 'Hi' }], options });
    assert.equal(text, whole.message.content);
  });
  await step('list', async () => {
    const r = await ollama.list();
    const names = r.models.map((m) => m.name);
    assert.ok(names.includes(model) || names.includes(model + ':latest'), JSON.stringify(names));
  });
  await step('ps', async () => {
    const r = await ollama.ps();
    assert.ok(r.models.some((m) => m.name.startsWith(model)), JSON.stringify(r));
  });
  await step('show', async () => {
    const r = await ollama.show({ model: toolModel });
    assert.equal(r.details.format, 'gguf');
    assert.ok(r.capabilities.includes('completion'));
    assert.ok(r.capabilities.includes('tools'), JSON.stringify(r.capabilities));
    assert.ok(r.model_info['general.architecture']);
  });
  await step('embed', async () => {
    const r = await ollama.embed({ model, input: ['a', 'b c'] });
    assert.equal(r.embeddings.length, 2);
    const norm = Math.hypot(...r.embeddings[0]);
    assert.ok(Math.abs(norm - 1) < 1e-3, String(norm));
  });
  await step('tool call round trip', async () => {
    const tools = [{
      type: 'function',
      function: {
        name: 'get_weather', description: 'The weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    }];
    const messages = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await ollama.chat({
      model: toolModel, messages, tools, options: { temperature: 0, num_predict: 64, grammar: process.env.GRAMMAR },
    });
    const calls = first.message.tool_calls;
    assert.equal(calls.length, 1, JSON.stringify(first.message));
    assert.equal(calls[0].function.name, 'get_weather');
    assert.ok(['Paris', 'Rome'].includes(calls[0].function.arguments.city), JSON.stringify(calls));
    messages.push(first.message, { role: 'tool', content: '18 degrees', tool_name: 'get_weather' });
    const second = await ollama.chat({ model: toolModel, messages, tools, options });
    assert.equal(second.done, true);
    assert.ok(second.prompt_eval_count > 0);
  });
  await step('unknown model', async () => {
    await assert.rejects(ollama.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), (e) => {
      assert.equal(e.status_code, 404);
      assert.match(e.error, /not found/);
      return true;
    });
  });
})();
