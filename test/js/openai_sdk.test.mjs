// The official OpenAI SDK (and Anthropic's, on the Messages routes), pointed
// at the gateway with only its base URL changed, against the real spectrad
// and protocol-faithful fake upstreams.
// Run by ctest (see CMakeLists.txt) with SPECTRAD and FAKE_UPSTREAM set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const children = [];
let dir, api, ai, token, urls;
const KEY = 'sk-sdk-suite';
const LIMITED_KEY = 'sk-sdk-limited';

// Whatever happens to this runner, its children go with it.
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

function start(cmd, args) {
  const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(p);
  return p;
}

async function waitFor(fn, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = fn();
    if (v) return v;
    await sleep(20);
  }
  throw new Error('timed out waiting');
}

async function configApi(method, path, body, base) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (base !== undefined) headers['if-match'] = `"${base}"`;
  const r = await fetch(`http://${api}${path}`, { method, headers, body: body && JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

before(async () => {
  const fake = start(process.env.FAKE_UPSTREAM, []);
  let out = '';
  fake.stdout.on('data', (d) => { out += d; });
  urls = JSON.parse(await waitFor(() => out.includes('\n') && out.split('\n')[0]));
  dir = mkdtempSync(join(tmpdir(), 'spectra-sdk-'));
  const ready = join(dir, 'ready');
  // Bedrock credentials come from the environment, as on a laptop; on EC2
  // they come from the instance role.
  const env = { ...process.env, AWS_ACCESS_KEY_ID: urls.bedrock_access_key_id,
    AWS_SECRET_ACCESS_KEY: urls.bedrock_secret_access_key, AWS_EC2_METADATA_DISABLED: 'true' };
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  const d = spawn(process.env.SPECTRAD, ['--listen', '127.0.0.1:0', '--ai-listen', '127.0.0.1:0',
    '--state-dir', join(dir, 'state'), '--ready-file', ready], { stdio: ['pipe', 'pipe', 'pipe'], env });
  children.push(d);
  d.stderr.on('data', () => {});
  const text = await waitFor(() => {
    const t = existsSync(ready) ? readFileSync(ready, 'utf8') : '';
    return t.includes('ai ') ? t : null;
  });
  const lines = text.split('\n');
  api = lines[0];
  ai = lines[1].slice(3);
  token = readFileSync(join(dir, 'state', 'admin.token'), 'utf8').trim();
  const cfg = await configApi('GET', '/api/v1/config');
  const put = await configApi('PUT', '/api/v1/config/ai', {
    value: {
      enabled: true,
      providers: [
        { name: 'openai', kind: 'openai', base_url: urls.openai, api_key: 'sk-upstream' },
        { name: 'local', kind: 'vllm', endpoints: [urls.local] },
        { name: 'anthropic', kind: 'anthropic', base_url: urls.anthropic, api_key: urls.anthropic_key },
        { name: 'bedrock', kind: 'bedrock', base_url: urls.bedrock, region: urls.bedrock_region },
      ],
      routes: [
        { alias: 'gpt', target: 'openai/gpt-4o' },
        { alias: 'llama', target: 'local/llama-3' },
        { alias: 'claude', target: 'anthropic/claude-3-5-sonnet' },
        { alias: 'nova', target: 'bedrock/us.amazon.nova-pro-v1:0' },
      ],
      virtual_keys: [{ name: 'sdk', key: KEY }, { name: 'metered', key: LIMITED_KEY, rpm: 2, tpm: 100000 }],
      cache: { exact_enabled: true },
    },
  }, cfg.json.revision);
  assert.equal(put.status, 200, JSON.stringify(put.json));
});

after(() => {
  for (const c of children) c.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const client = () => new OpenAI({ baseURL: `http://${ai}/v1`, apiKey: KEY, maxRetries: 0 });
const weatherTool = [{
  type: 'function',
  function: { name: 'get_weather', description: 'Weather in a city',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
}];

// Each provider kind behind the same SDK calls. The fakes answer
// deterministically; usage is whitespace words (see test/fakes).
const words = (t) => t.split(/\s+/).filter(Boolean).length;
const lastWord = (t) => t.split(/\s+/).pop().replace(/[?.!]$/, '');
const backends = [
  { model: 'gpt', reply: (t) => `openai says: ${t}`, args: () => ({ location: 'Paris' }) },
  { model: 'llama', reply: (t) => `local says: ${t}`, args: () => ({ location: 'Paris' }) },
  { model: 'claude', reply: (t) => `Echo: ${t}`, args: () => ({ location: 'San Francisco, CA' }) },
  { model: 'nova', reply: (t) => `You said: ${t}`, args: (t) => ({ location: lastWord(t) }) },
];

for (const { model, reply, args } of backends) {
  test(`${model}: chat completion`, async () => {
    const text = `hello from ${model}`;
    const r = await client().chat.completions.create({ model, messages: [{ role: 'user', content: text }] });
    assert.equal(r.choices[0].message.content, reply(text));
    assert.equal(r.usage.prompt_tokens, 3);
    assert.equal(r.usage.completion_tokens, words(reply(text)));
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.object, 'chat.completion');
    assert.ok(r.created > 0);
  });

  test(`${model}: streaming with usage`, async () => {
    const text = `stream it ${model}`;
    const stream = await client().chat.completions.create({
      model, stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: text }],
    });
    let got = '';
    let usage;
    let finish;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        got += c.delta?.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(got, reply(text));
    assert.equal(finish, 'stop');
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [5, words(reply(text))]);
  });

  test(`${model}: tool calls, whole and streamed`, async () => {
    const messages = [{ role: 'user', content: 'what is the weather in Paris?' }];
    const r = await client().chat.completions.create({ model, messages, tools: weatherTool });
    const call = r.choices[0].message.tool_calls[0];
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), args(messages[0].content));
    // The tool's answer goes back, then a streamed tool call.
    const followUp = await client().chat.completions.create({ model, tools: weatherTool, messages: [
      ...messages, r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny and 21C' }] });
    assert.equal(followUp.choices[0].finish_reason, 'stop');
    const stream = client().chat.completions.stream({ model, messages: [{ role: 'user', content: 'weather again' }], tools: weatherTool });
    const final = await stream.finalChatCompletion();
    const sc = final.choices[0].message.tool_calls[0];
    assert.equal(sc.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(sc.function.arguments), args('weather again'));
  });
}

// Reasoning on Claude through chat completions: reasoning_effort turns on
// its extended thinking; the thinking comes back as reasoning_content
// (streamed as it is thought) and, signed, as thinking_blocks, which the
// usual tool loop (push the assistant message back as it came) returns to
// Anthropic, as it requires with thinking on.
test('reasoning on an Anthropic model: reasoning_effort, reasoning_content, thinking_blocks', async () => {
  const messages = [{ role: 'user', content: 'what is the weather in Paris?' }];
  const r = await client().chat.completions.create({ model: 'claude', reasoning_effort: 'low', messages, tools: weatherTool });
  const message = r.choices[0].message;
  assert.equal(message.reasoning_content, 'Thinking about: what is the weather in Paris?');
  assert.equal(message.thinking_blocks[0].type, 'thinking');
  const call = message.tool_calls[0];
  const followUp = await client().chat.completions.create({ model: 'claude', reasoning_effort: 'low', tools: weatherTool,
    messages: [...messages, message, { role: 'tool', tool_call_id: call.id, content: 'sunny and 21C' }] });
  assert.equal(followUp.choices[0].message.content, 'The tool returned: sunny and 21C');
  // Streamed: the thinking arrives before the answer, as deltas.
  const stream = await client().chat.completions.create({ model: 'claude', reasoning_effort: 'medium', stream: true,
    messages: [{ role: 'user', content: 'think out loud' }] });
  let reasoning = '';
  let content = '';
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      reasoning += c.delta?.reasoning_content ?? '';
      if (c.delta?.content && !reasoning) assert.fail('the answer came before the thinking');
      content += c.delta?.content ?? '';
    }
  }
  assert.deepEqual([reasoning, content], ['Thinking about: think out loud', 'Echo: think out loud']);
  // Claude on Bedrock: the same fields, the same loop.
  const onBedrock = 'bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0';
  const b = await client().chat.completions.create({ model: onBedrock, reasoning_effort: 'low', messages, tools: weatherTool });
  const bm = b.choices[0].message;
  assert.equal(bm.reasoning_content, 'Thinking about: what is the weather in Paris?');
  const bFollowUp = await client().chat.completions.create({ model: onBedrock, reasoning_effort: 'low', tools: weatherTool,
    messages: [...messages, bm, { role: 'tool', tool_call_id: bm.tool_calls[0].id, content: 'sunny and 21C' }] });
  assert.equal(bFollowUp.choices[0].message.content, 'Tool result received: sunny and 21C');
  await assert.rejects(client().chat.completions.create({ model: 'claude', reasoning_effort: 'low', temperature: 0.2,
    messages: [{ role: 'user', content: 'x' }] }), (e) => e instanceof OpenAI.BadRequestError && /temperature/.test(e.message));
});

test('response_format passes through and the answer is cached', async () => {
  const req = { model: 'gpt', response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'cache me' }] };
  const first = await client().chat.completions.create(req).withResponse();
  assert.equal(first.response.headers.get('x-spectra-cache'), 'miss');
  const second = await client().chat.completions.create(req).withResponse();
  assert.equal(second.response.headers.get('x-spectra-cache'), 'hit');
  assert.deepEqual(second.data, first.data);
  const streamed = await client().chat.completions.create({ ...req, stream: true }).withResponse();
  assert.equal(streamed.response.headers.get('x-spectra-cache'), 'hit');
  let text = '';
  for await (const chunk of streamed.data) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'openai says: cache me');
});

test('errors arrive as the SDK error classes', async () => {
  const bad = new OpenAI({ baseURL: `http://${ai}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(client().chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && /no-such-model/.test(e.message));
  await assert.rejects(client().chat.completions.create({ model: 'gpt', messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
  await assert.rejects(client().chat.completions.create({ model: 'gpt', temperature: 3, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature' && /between 0 and 2/.test(e.message));
  // Errors the HTTP layer answers by itself come in the same shape.
  await assert.rejects(client().post('/no/such/path', { body: {} }),
    (e) => e instanceof OpenAI.NotFoundError && e.type === 'invalid_request_error' && e.code === 'not_found' &&
      e.param === null && /\/v1\/no\/such\/path/.test(e.message));
  await assert.rejects(client().get('/chat/completions'),
    (e) => e.status === 405 && e.type === 'invalid_request_error' && e.code === 'method_not_allowed');
});

test("a key's rate limits: x-ratelimit-* headers, then a RateLimitError", async () => {
  const limited = new OpenAI({ baseURL: `http://${ai}/v1`, apiKey: LIMITED_KEY, maxRetries: 0 });
  const ask = () => limited.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'limits?' }] });
  const { data, response } = await ask().withResponse();
  assert.equal(data.choices[0].message.content, 'openai says: limits?');
  assert.equal(response.headers.get('x-ratelimit-limit-requests'), '2');
  assert.equal(response.headers.get('x-ratelimit-remaining-requests'), '1');
  assert.match(response.headers.get('x-ratelimit-reset-requests'), /^\d+(\.\d+)?s$/);
  assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '100000');
  assert.equal(response.headers.get('x-ratelimit-remaining-tokens'), '100000');
  await ask();  // the second of two per minute
  await assert.rejects(ask(), (e) => e instanceof OpenAI.RateLimitError && e.code === 'rpm_exceeded' &&
    e.headers.get('x-ratelimit-remaining-requests') === '0' && Number(e.headers.get('retry-after')) >= 1);
});

test('models and embeddings', async () => {
  const models = [];
  for await (const m of client().models.list()) models.push(m.id);
  assert.deepEqual(models.sort(), ['claude', 'gpt', 'llama', 'nova']);
  const gpt = await client().models.retrieve('gpt');
  assert.deepEqual([gpt.id, gpt.owned_by], ['gpt', 'openai']);
  const direct = await client().models.retrieve('bedrock/us.amazon.nova-pro-v1:0');  // the SDK encodes the slash
  assert.deepEqual([direct.id, direct.owned_by], ['bedrock/us.amazon.nova-pro-v1:0', 'bedrock']);
  await assert.rejects(client().models.retrieve('no-such-model'),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  const e = await client().embeddings.create({ model: 'openai/text-embedding-3-small', input: 'embed this' });
  assert.equal(e.data[0].embedding.length, 8);
  assert.equal(e.usage.prompt_tokens, 2);
  // Bedrock Titan through InvokeModel (SigV4): one upstream call per input,
  // assembled in order; the SDK's default base64 encoding included.
  const t = await client().embeddings.create({
    model: 'bedrock/amazon.titan-embed-text-v2:0', input: ['first text here', 'second'], dimensions: 256 });
  assert.equal(t.data.length, 2);
  assert.deepEqual(t.data.map((d) => d.index), [0, 1]);
  assert.equal(t.data[0].embedding.length, 256);
  assert.notDeepEqual(t.data[0].embedding, t.data[1].embedding);
  assert.equal(t.usage.prompt_tokens, 4);
  // Asked again: answered from the exact cache, the same vectors.
  const again = await client().embeddings.create({
    model: 'bedrock/amazon.titan-embed-text-v2:0', input: ['first text here', 'second'], dimensions: 256 }).withResponse();
  assert.equal(again.response.headers.get('x-spectra-cache'), 'hit');
  assert.deepEqual(again.data.data.map((d) => d.embedding), t.data.map((d) => d.embedding));
  await assert.rejects(client().embeddings.create({ model: 'anthropic/claude-3-5-sonnet', input: 'x' }),
    (err) => err instanceof OpenAI.NotFoundError);
});

// The Responses API passes through to OpenAI-compatible providers (OpenAI,
// vLLM): whole, streamed (the SDK's typed events and finalResponse()), and a
// function call whose output goes back as input; metered from its usage.
test('the Responses API, whole, streamed and with a tool call', async () => {
  const usageOf = async (provider, model) => {
    const r = await configApi('GET', '/api/v1/ai/usage');
    const u = r.json.usage.find((x) => x.key === 'sdk' && x.provider === provider && x.model === model);
    return u ? [u.prompt_tokens, u.completion_tokens] : [0, 0];
  };
  const r = await client().responses.create({ model: 'gpt', instructions: 'be brief', input: 'hello responses' });
  assert.equal(r.output_text, 'openai says: hello responses');
  assert.deepEqual([r.usage.input_tokens, r.usage.output_tokens], [4, 4]);

  const before = await usageOf('local', 'llama-3');
  const stream = client().responses.stream({ model: 'llama', input: [{ role: 'user', content: 'stream these words' }] });
  const deltas = [];
  stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
  const final = await stream.finalResponse();
  assert.equal(deltas.join(''), 'local says: stream these words');
  assert.equal(final.output_text, 'local says: stream these words');
  assert.deepEqual([final.usage.input_tokens, final.usage.output_tokens], [3, 5]);
  const after = await usageOf('local', 'llama-3');
  assert.deepEqual([after[0] - before[0], after[1] - before[1]], [3, 5], 'metered as the stream reported');

  const tools = [{ type: 'function', name: 'get_weather', description: 'Weather in a city', strict: false,
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } }];
  const ask = [{ role: 'user', content: 'what is the weather in Paris' }];
  const call = await client().responses.create({ model: 'gpt', tools, input: ask });
  const fc = call.output.find((o) => o.type === 'function_call');
  assert.ok(fc, JSON.stringify(call.output));
  assert.deepEqual([fc.name, JSON.parse(fc.arguments)], ['get_weather', { location: 'Paris' }]);
  const streamedCall = await client().responses.stream({ model: 'llama', tools, input: ask }).finalResponse();
  assert.deepEqual(JSON.parse(streamedCall.output[0].arguments), { location: 'Paris' });
  const followUp = await client().responses.create({ model: 'gpt', tools,
    input: [...ask, fc, { type: 'function_call_output', call_id: fc.call_id, output: 'sunny' }] });
  assert.equal(followUp.output_text, 'openai says: the tool returned sunny');

  await assert.rejects(client().responses.create({ model: 'no-such-model', input: 'x' }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
});

// The Responses API on the models that do not speak it (Anthropic, Bedrock):
// the gateway translates through chat, and the SDK gets response objects,
// typed event streams (finalResponse()) and function calls as from OpenAI.
test('the Responses API on Anthropic and Bedrock models, in translation', async () => {
  const toolReply = { claude: (t) => `The tool returned: ${t}`, nova: (t) => `Tool result received: ${t}` };
  for (const { model, reply, args } of backends.filter((b) => b.model === 'claude' || b.model === 'nova')) {
    const text = `hello responses ${model}`;
    const r = await client().responses.create({ model, instructions: 'be brief', input: text, max_output_tokens: 64 });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.model, model);
    assert.equal(r.output_text, reply(text));
    assert.deepEqual([r.usage.input_tokens, r.usage.output_tokens], [2 + 3, words(reply(text))]);

    const stream = client().responses.stream({ model, input: [{ role: 'user', content: `stream ${model} please` }] });
    const deltas = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(deltas.join(''), reply(`stream ${model} please`));
    assert.equal(final.output_text, reply(`stream ${model} please`));
    assert.equal(final.usage.output_tokens, words(reply(`stream ${model} please`)));

    const tools = [{ type: 'function', name: 'get_weather', description: 'Weather in a city', strict: false,
      parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } }];
    const ask = [{ role: 'user', content: 'what is the weather in Paris' }];
    const call = await client().responses.stream({ model, tools, input: ask }).finalResponse();
    const fc = call.output.find((o) => o.type === 'function_call');
    assert.ok(fc, JSON.stringify(call.output));
    assert.deepEqual([fc.name, JSON.parse(fc.arguments)], ['get_weather', args(ask[0].content)]);
    const followUp = await client().responses.create({ model, tools,
      input: [...ask, ...call.output, { type: 'function_call_output', call_id: fc.call_id, output: 'sunny' }] });
    assert.equal(followUp.output_text, toolReply[model]('sunny'));
  }
  // reasoning.effort: Claude's thinking as a reasoning item, whole and streamed.
  const thought = await client().responses.create({ model: 'claude', reasoning: { effort: 'low' }, input: 'ponder this' });
  assert.deepEqual([thought.output[0].type, thought.output[0].summary[0].text, thought.output_text],
    ['reasoning', 'Thinking about: ponder this', 'Echo: ponder this']);
  const thoughtStream = client().responses.stream({ model: 'claude', reasoning: { effort: 'low' }, input: 'ponder that' });
  let summary = '';
  thoughtStream.on('response.reasoning_summary_text.delta', (e) => { summary += e.delta; });
  const thoughtFinal = await thoughtStream.finalResponse();
  assert.deepEqual([summary, thoughtFinal.output[0].type], ['Thinking about: ponder that', 'reasoning']);
  // Input tokens of a translated request, counted by Anthropic's count_tokens.
  const counted = await client().responses.inputTokens.count({ model: 'claude', instructions: 'be brief',
    input: 'count these four words' });
  assert.deepEqual([counted.object, counted.input_tokens], ['response.input_tokens', 6]);
  const onBedrock = await client().responses.inputTokens.count({ model: 'bedrock/anthropic.claude-3-5-haiku-20241022-v1:0',
    instructions: 'be brief', input: 'count these four words' });
  assert.equal(onBedrock.input_tokens, 6);
  // Kept by the gateway (store, the default): read, listed, continued and
  // deleted by id as OpenAI's are.
  const kept = await client().responses.create({ model: 'nova', input: 'my name is Ada' });
  assert.equal(kept.store, true);
  assert.deepEqual(await client().responses.retrieve(kept.id), kept);
  const replayed = [];
  for await (const event of await client().responses.retrieve(kept.id, { stream: true })) replayed.push(event);
  assert.equal(replayed.at(-1).type, 'response.completed');
  const { output_text: _text, ...stored } = kept;  // (output_text is the SDK's own convenience)
  assert.deepEqual(replayed.at(-1).response, stored);
  const resumed = [];
  for await (const event of await client().responses.retrieve(kept.id, { stream: true, starting_after: 3 })) resumed.push(event);
  assert.deepEqual(resumed, replayed.slice(4));
  const items = [];
  for await (const item of client().responses.inputItems.list(kept.id)) items.push(item);
  assert.deepEqual(items.map((i) => [i.type, i.role, i.content[0].text]), [['message', 'user', 'my name is Ada']]);
  const next = await client().responses.stream({ model: 'claude', previous_response_id: kept.id,
    input: 'what is my name' }).finalResponse();
  assert.equal(next.previous_response_id, kept.id);
  assert.equal(next.output_text, 'Echo: what is my name');
  const deleted = await client().responses.delete(kept.id);
  await assert.rejects(client().responses.retrieve(kept.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(client().responses.create({ model: 'claude', input: 'x', previous_response_id: kept.id }),
    (e) => e instanceof OpenAI.NotFoundError && e.param === 'previous_response_id');
  assert.equal((await client().responses.retrieve(next.id)).id, next.id);
  assert.deepEqual(deleted, { id: kept.id, object: 'response', deleted: true });
});

// A stored answer is read, listed and deleted by id through the endpoint
// that made it, and only by the key that made it; the Responses tools
// (input_tokens, compact) route by their model.
test('the Responses API by id, and its tools', async () => {
  const kept = await client().responses.create({ model: 'gpt', input: 'remember me' });
  const again = await client().responses.retrieve(kept.id);
  assert.equal(again.id, kept.id);
  assert.equal(again.output[0].content[0].text, 'openai says: remember me');
  const items = [];
  for await (const item of client().responses.inputItems.list(kept.id)) items.push(item);
  assert.equal(items[0].content[0].text, 'remember me');
  const stranger = new OpenAI({ baseURL: `http://${ai}/v1`, apiKey: LIMITED_KEY, maxRetries: 0 });
  await assert.rejects(stranger.responses.retrieve(kept.id),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'response_not_found');
  await assert.rejects(stranger.responses.delete(kept.id), (e) => e instanceof OpenAI.NotFoundError);
  await client().responses.delete(kept.id);
  await assert.rejects(client().responses.retrieve(kept.id), (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(client().responses.create({ model: 'gpt', input: 'x', background: true }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'background');

  const count = await client().responses.inputTokens.count({ model: 'gpt', input: 'count these four words' });
  assert.equal(count.input_tokens, 4);
  const before = await configApi('GET', '/api/v1/ai/usage');
  const compacted = await client().responses.compact({ model: 'llama', input: [{ role: 'user', content: 'a long talk' }] });
  assert.equal(compacted.object, 'response.compaction');
  assert.deepEqual(compacted.output.map((o) => o.type), ['message', 'compaction']);
  const after = await configApi('GET', '/api/v1/ai/usage');
  const prompt = (r) => r.json.usage.find((u) => u.key === 'sdk' && u.provider === 'local' && u.model === 'llama-3').prompt_tokens;
  assert.equal(prompt(after) - prompt(before), compacted.usage.input_tokens);
});

// Anthropic's SDK pointed at the gateway (only its base URL changed): the
// Messages API relayed to the Anthropic provider, whole, streamed and
// counted, metered from its usage; the gateway's refusals arrive as the
// SDK's error classes.
// A cached Responses answer is replayed as the typed event stream the SDK
// accumulates (the answer, and its id, are the first call's), tool calls
// included.
test('a cached Responses answer replays as the SDK stream', async () => {
  const first = await client().responses.create({ model: 'gpt', input: 'replay this answer' });
  const stream = client().responses.stream({ model: 'gpt', input: 'replay this answer' });
  const deltas = [];
  stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
  const final = await stream.finalResponse();
  assert.equal(final.id, first.id);
  assert.equal(final.output_text, 'openai says: replay this answer');
  assert.equal(deltas.join(''), 'openai says: replay this answer');
  const tools = [{ type: 'function', name: 'get_weather', strict: false,
    parameters: { type: 'object', properties: { location: { type: 'string' } } } }];
  const call = await client().responses.create({ model: 'gpt', tools, input: 'the weather in Paris, please' });
  const again = await client().responses.stream({ model: 'gpt', tools, input: 'the weather in Paris, please' }).finalResponse();
  assert.equal(again.id, call.id);
  assert.deepEqual(JSON.parse(again.output[0].arguments), { location: 'Paris' });
});

// messages.stream(): the text as the SDK's 'text' events gave it, and the
// message it accumulated.
async function messageStream(anthropic, params) {
  const stream = anthropic.messages.stream(params);
  let text = '';
  stream.on('text', (t) => { text += t; });
  const final = await stream.finalMessage();
  return { text, final };
}

test("Anthropic's SDK on /v1/messages", async () => {
  const claude = (key = KEY) => new Anthropic({ baseURL: `http://${ai}`, apiKey: key, maxRetries: 0 });
  const metered = async () => {
    const r = await configApi('GET', '/api/v1/ai/usage');
    const u = r.json.usage.find((x) => x.key === 'sdk' && x.provider === 'anthropic' && x.model === 'claude-3-5-sonnet');
    return u ? [u.requests, u.prompt_tokens, u.completion_tokens] : [0, 0, 0];
  };
  const before = await metered();
  const m = await claude().messages.create({ model: 'claude', max_tokens: 64,
    messages: [{ role: 'user', content: 'hello from anthropic' }] });
  assert.equal(m.content[0].text, 'Echo: hello from anthropic');
  assert.deepEqual([m.usage.input_tokens, m.usage.output_tokens], [3, 4]);

  const streamIt = { model: 'anthropic/claude-3-5-sonnet', max_tokens: 64, messages: [{ role: 'user', content: 'stream it' }] };
  const { text, final } = await messageStream(claude(), streamIt);
  assert.equal(text, 'Echo: stream it');
  assert.equal(final.usage.output_tokens, 3);

  // The same stream again: a cache hit the SDK accumulates like the first.
  const { text: replayed, final: again } = await messageStream(claude(), streamIt);
  assert.equal(replayed, 'Echo: stream it');
  assert.equal(again.id, final.id);
  assert.deepEqual(again.content, final.content);

  const count = await claude().messages.countTokens({ model: 'claude',
    messages: [{ role: 'user', content: 'count these four words' }] });
  assert.equal(count.input_tokens, 4);
  // Metered as the upstream reported (the stream once its last byte is out).
  // (The replayed stream is a request too, its tokens counted as saved.)
  const want = [before[0] + 3, before[1] + 3 + 2, before[2] + 4 + 3];
  let now = await metered();
  for (let i = 0; i < 250 && JSON.stringify(now) !== JSON.stringify(want); i++) {
    await sleep(20);
    now = await metered();
  }
  assert.deepEqual(now, want);

  const models = [];
  for await (const model of claude().models.list()) models.push(model.id);
  assert.deepEqual(models.sort(), ['claude', 'gpt', 'llama', 'nova']);  // /v1/messages serves them all
  assert.equal((await claude().models.retrieve('claude')).type, 'model');

  await assert.rejects(claude('sk-nobody').messages.create({ model: 'claude', max_tokens: 8,
    messages: [{ role: 'user', content: 'x' }] }), (e) => e instanceof Anthropic.AuthenticationError);
  await assert.rejects(claude().messages.create({ model: 'nope/model', max_tokens: 8,
    messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof Anthropic.NotFoundError && e.error.error.type === 'not_found_error');
});

// Anthropic's SDK on the models that are not Anthropic's (OpenAI, a local
// vLLM, Bedrock): the gateway translates through chat, and the SDK gets
// messages, event streams and tool use it accumulates as from Anthropic.
test("Anthropic's SDK on every other provider kind, in translation", async () => {
  const claude = new Anthropic({ baseURL: `http://${ai}`, apiKey: KEY, maxRetries: 0 });
  for (const { model, reply } of backends.filter((b) => b.model !== 'claude')) {
    const text = `hello again ${model}`;
    const m = await claude.messages.create({ model, max_tokens: 64, system: 'be brief',
      messages: [{ role: 'user', content: text }] });
    assert.equal(m.type, 'message');
    assert.equal(m.model, model);
    assert.equal(m.content[0].text, reply(text));
    assert.equal(m.stop_reason, 'end_turn');
    assert.deepEqual([m.usage.input_tokens, m.usage.output_tokens], [2 + 3, words(reply(text))]);

    const { text: streamed, final } = await messageStream(claude,
      { model, max_tokens: 64, messages: [{ role: 'user', content: `stream ${model}` }] });
    assert.equal(streamed, reply(`stream ${model}`));
    assert.equal(final.content[0].text, reply(`stream ${model}`));
    assert.equal(final.usage.output_tokens, words(reply(`stream ${model}`)));
  }
  // Tool use round trip on the local model: the call streamed as a tool_use
  // block, its result sent back as a tool_result.
  const tools = [{ name: 'get_weather', description: 'Weather in a city',
    input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } }];
  const ask = { role: 'user', content: 'what is the weather in Paris' };
  const call = await claude.messages.stream({ model: 'llama', max_tokens: 64, tools, messages: [ask] }).finalMessage();
  assert.equal(call.stop_reason, 'tool_use');
  const use = call.content.find((b) => b.type === 'tool_use');
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, { location: 'Paris' });
  const answer = await claude.messages.create({ model: 'llama', max_tokens: 64, tools, messages: [ask,
    { role: 'assistant', content: call.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18C' }] }] });
  assert.equal(answer.content[0].text, 'local says: the tool returned 18C');
  // A local reasoning model: its thinking as a thinking block, whole and as
  // the SDK's accumulated stream; and through the OpenAI SDK as reasoning_content.
  const reasoner = await claude.messages.create({ model: 'local/deepseek-r1', max_tokens: 64,
    messages: [{ role: 'user', content: 'why so' }] });
  assert.deepEqual(reasoner.content.map((b) => b.type), ['thinking', 'text']);
  assert.equal(reasoner.content[0].thinking, 'local thinks about: why so');
  const { final: reasoned } = await messageStream(claude, { model: 'local/deepseek-r1', max_tokens: 64,
    messages: [{ role: 'user', content: 'why stream' }] });
  assert.equal(reasoned.content[0].thinking, 'local thinks about: why stream');
  const viaChat = await client().chat.completions.create({ model: 'local/deepseek-r1', messages: [{ role: 'user', content: 'why so' }] });
  assert.equal(viaChat.choices[0].message.reasoning_content, 'local thinks about: why so');
  // countTokens on the local model: its own tokenizer (the fake counts words).
  const counted = await claude.messages.countTokens({ model: 'llama', system: 'be brief',
    messages: [{ role: 'user', content: 'count these four words' }] });
  assert.equal(counted.input_tokens, 6);
  // ... and on a Claude model of Bedrock: Bedrock's CountTokens; Nova has no
  // counter on Bedrock, and its reason reaches the SDK as a BadRequestError.
  const onBedrock = await claude.messages.countTokens({ model: 'bedrock/anthropic.claude-3-5-haiku-20241022-v1:0',
    system: 'be brief', messages: [{ role: 'user', content: 'count these four words' }] });
  assert.equal(onBedrock.input_tokens, 6);
  await assert.rejects(claude.messages.countTokens({ model: 'nova', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.BadRequestError && /support counting tokens/.test(e.message));
  await assert.rejects(claude.messages.create({ model: 'llama', max_tokens: 8,
    messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] }),
  (e) => e instanceof Anthropic.BadRequestError && e.error.error.type === 'invalid_request_error');
});

test('metering equals what the upstreams reported', async () => {
  const r = await configApi('GET', '/api/v1/ai/usage');
  assert.equal(r.status, 200);
  const gpt = r.json.usage.find((u) => u.key === 'sdk' && u.provider === 'openai' && u.model === 'gpt-4o');
  assert.ok(gpt, JSON.stringify(r.json));
  assert.ok(gpt.prompt_tokens > 0 && gpt.completion_tokens > 0);
  assert.ok(gpt.exact_hits >= 2);
});

test('the config API lists the upstream endpoints and their health', async () => {
  const r = await configApi('GET', '/api/v1/ai/upstreams');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const providers = new Set(r.json.upstreams.map((u) => u.provider));
  for (const p of ['openai', 'anthropic', 'bedrock', 'local']) assert.ok(providers.has(p), JSON.stringify(r.json));
  for (const u of r.json.upstreams) {
    assert.equal(u.state, 'healthy', JSON.stringify(u));
    assert.equal(u.ejected_for_ms, 0);
  }
});

// A RESP exchange with Redis on loopback: sends the commands, resolves with
// the raw replies once `count` of them arrived (bounded).
function redisCommands(port, cmds, count) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`redis: no answer; got ${JSON.stringify(buf)}`)); }, 5000);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d) => {
      buf += d;
      if (buf.split('\r\n').filter((l) => /^[+:\-$*]/.test(l)).length >= count) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf);
      }
    });
    s.write(cmds.map((c) => `*${c.length}\r\n` + c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')).join(''));
  });
}

// The fleet cache, configured as an operator would: backend, URL and a
// password through the config API (the password sealed in the store, never
// read back), answers shared through a real redis-server.
test('the Redis cache backend, set through the config API', async () => {
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
  });
  const password = 'redis-s3cret';
  start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--requirepass', password]);
  const auth = ['AUTH', password];
  const end = Date.now() + 10000;
  for (;;) {
    try {
      if ((await redisCommands(port, [auth, ['PING']], 2)).includes('+PONG')) break;
    } catch (e) {
      if (Date.now() > end) throw e;
      await sleep(50);
    }
  }
  const cur = await configApi('GET', '/api/v1/config/ai');
  assert.equal(cur.status, 200);
  const value = { ...cur.json.value };
  // Secrets read back as ***: send the real keys again with the change.
  value.providers = value.providers.map((p) => ({ ...p, api_key: p.name === 'openai' ? 'sk-upstream' : p.name === 'anthropic' ? urls.anthropic_key : undefined }));
  value.virtual_keys = [{ name: 'sdk', key: KEY }];
  value.cache = { ...value.cache, backend: 'redis', redis_url: `redis://127.0.0.1:${port}/0`, redis_password: password,
    redis_timeout_ms: 500 };
  const put = await configApi('PUT', '/api/v1/config/ai', { value }, cur.json.revision);
  assert.equal(put.status, 200, JSON.stringify(put.json));
  const read = await configApi('GET', '/api/v1/config/ai');
  assert.equal(read.json.value.cache.redis_password, '***');
  assert.equal(read.json.value.cache.backend, 'redis');

  const req = { model: 'gpt', messages: [{ role: 'user', content: 'kept in the fleet cache' }] };
  const first = await client().chat.completions.create(req).withResponse();
  assert.equal(first.response.headers.get('x-spectra-cache'), 'miss');
  // Stored in Redis, under the gateway's prefix (the store is asynchronous).
  let keys = '';
  const until = Date.now() + 5000;
  while (!keys.includes('spectra:ai:cache:') && Date.now() < until) {
    keys = await redisCommands(port, [auth, ['KEYS', 'spectra:ai:cache:*']], 2);
    if (!keys.includes('spectra:ai:cache:')) await sleep(20);
  }
  assert.match(keys, /spectra:ai:cache:[0-9a-f]{64}/);
  const second = await client().chat.completions.create(req).withResponse();
  assert.equal(second.response.headers.get('x-spectra-cache'), 'hit');
  assert.deepEqual(second.data, first.data);
  // Emptied behind the gateway's back: the next answer is a miss again.
  await redisCommands(port, [auth, ['FLUSHALL']], 2);
  const third = await client().chat.completions.create(req).withResponse();
  assert.equal(third.response.headers.get('x-spectra-cache'), 'miss');
});
