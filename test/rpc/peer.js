'use strict';
// Real bolt and Dubbo peers for the Go integration tests (../rpc_*_test.go),
// built on sofa-rpc-node with sofa-bolt-node or dubbo-remoting.
//
//   node peer.js server --protocol bolt|dubbo --name NAME [--port 0]
//     prints "listening PORT" once it accepts connections. Services (version 1.0):
//       com.example.EchoService: echo(s) -> "NAME:s", plus(a, b), sleep(ms), exit()
//       com.example.OtherService: whoami() -> NAME, conns() -> connections open, exit()
//   node peer.js client --protocol bolt|dubbo --target HOST:PORT --service IFACE
//       --method M --args JSON [--calls N] [--conns K] [--timeout MS] [--bolt2]
//     makes N calls spread over K connections, all at once, and prints one JSON
//     line: {"ok": n, "errors": [...], "results": [...]}. With --method echo and
//     --args '"@"', call i sends its own number and checks the answer carries it.
const { RpcServer } = require('sofa-rpc-node').server;
const { RpcClient } = require('sofa-rpc-node').client;

const quiet = { info() {}, warn() {}, debug() {}, error() {} };

function parse(argv) {
  const o = { _: argv[0] };
  for (let i = 1; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) o[k] = argv[++i];
    else o[k] = true;
  }
  return o;
}

function protocolOf(o) {
  if (o.protocol === 'dubbo') return require('dubbo-remoting');
  const bolt = require('sofa-bolt-node');
  if (!o.bolt2) return bolt;
  // bolt v2 with CRC32: the same codec, its encoder switched to v2.
  return Object.assign({}, bolt, {
    encoder(opts) {
      const e = bolt.encoder(opts);
      e.protocolType = 'bolt2';
      e.boltVersion = 2;
      e.crcEnable = true;
      return e;
    },
  });
}

async function server(o) {
  const name = o.name || 'server';
  const srv = new RpcServer({ logger: quiet, port: Number(o.port || 0), protocol: protocolOf(o) });
  srv.addService({ interfaceName: 'com.example.EchoService', version: '1.0' }, {
    async echo(s) { return name + ':' + s; },
    async plus(a, b) { return a + b; },
    async sleep(ms) { await new Promise(r => setTimeout(r, ms)); return 'slept'; },
    async exit() { process.exit(3); },
  });
  srv.addService({ interfaceName: 'com.example.OtherService', version: '1.0' }, {
    async whoami() { return name; },
    async conns() { return srv._connections.size; },
    async exit() { process.exit(3); },
  });
  await srv.start();
  process.stdout.write('listening ' + srv._servers[0].address().port + '\n');
}

async function client(o) {
  const calls = Number(o.calls || 1);
  const conns = Number(o.conns || 1);
  const timeout = Number(o.timeout || 10000);
  const args = JSON.parse(o.args || '[]');
  const consumers = [];
  for (let i = 0; i < conns; i++) {
    const c = new RpcClient({ logger: quiet, protocol: protocolOf(o) });
    const consumer = c.createConsumer({
      interfaceName: o.service, version: '1.0', serverHost: o.target,
    });
    await consumer.ready();
    consumers.push(consumer);
  }
  const out = { ok: 0, errors: [], results: [] };
  await Promise.all(Array.from({ length: calls }, async (_, i) => {
    const a = args.map(x => (x === '@' ? String(i) : x));
    try {
      const res = await consumers[i % conns].invoke(o.method, a, { responseTimeout: timeout });
      if (args.includes('@') && !String(res).endsWith(':' + i)) {
        out.errors.push('call ' + i + ' got ' + JSON.stringify(res));
        return;
      }
      out.ok++;
      if (out.results.length < 5) out.results.push(res);
    } catch (err) {
      if (out.errors.length < 20) out.errors.push(String(err && err.message || err));
      else out.errors.push('error');
    }
  }));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

const o = parse(process.argv.slice(2));
(o._ === 'server' ? server(o) : client(o)).catch(err => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
