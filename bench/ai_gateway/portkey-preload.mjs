// Preloaded into the Portkey gateway process (node --import) by
// scripts/bench-ai. Portkey's own code runs as published; this file only
// adjusts the Node process around it, in two ways:
//
// 1. Loopback only. Portkey's start-server listens on every interface and
//    has no flag for the address; the benchmark must only ever use loopback,
//    so any server the process starts is bound to 127.0.0.1 unless it names
//    an address itself.
//
// 2. Streaming works. Portkey 1.15.2 on Node 20 answers every streamed chat
//    completion with HTTP 500 and logs "TypeError: immutable" from
//    ResponseService.updateHeaders: it appends x-portkey-* headers to the
//    upstream fetch() Response, whose headers are immutable by the fetch
//    spec (Portkey-AI/gateway issues 1389 and 1550). Re-wrapping streamed
//    upstream responses in a new Response with a mutable copy of the headers
//    is the remedy proposed upstream, applied here from outside. The cost is
//    one Response object per streamed request.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first, second] = args;
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first));
  if (isPort && typeof second !== 'string') {
    // listen(port[, undefined][, backlog][, callback]): insert the host.
    args.splice(1, second === undefined && args.length > 1 ? 1 : 0, '127.0.0.1');
  } else if (first && typeof first === 'object' && !first.path && !('fd' in first) && !first.host) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};

const fetchUpstream = globalThis.fetch;
globalThis.fetch = async function fetchWithMutableStreamHeaders(...args) {
  const res = await fetchUpstream.apply(this, args);
  if (!(res.headers.get('content-type') || '').startsWith('text/event-stream')) return res;
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
};
