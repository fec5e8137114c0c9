/**
 * The measuring parts of bench/dashboard.ts: the SSE reader (parsing, counting, pausing, reconnecting),
 * the /proc readers and the Prometheus text parser, against real local servers and this process.
 */
import assert from 'node:assert/strict';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { machineBusySeconds, promValue, quantile, readProc, slope, tcpQueues } from './proc.ts';
import { SseClient, SseParser } from './sse.ts';

describe('SseParser', () => {
  test('splits events across chunk boundaries, names them, joins data lines and skips data-less blocks', () => {
    const got: Array<[string, string]> = [];
    const p = new SseParser((type, data) => got.push([type, data]));
    p.push('retry: 3000\n\nevent: quo');
    p.push('tes\ndata: {"a":1}\n\nevent: stats\ndata: x\ndata:y\n');
    assert.deepEqual(got, [['quotes', '{"a":1}']]);
    p.push('\ndata: plain\n\n');
    assert.deepEqual(got, [
      ['quotes', '{"a":1}'],
      ['stats', 'x\ny'],
      ['message', 'plain'],
    ]);
  });
});

describe('SseClient', () => {
  const streams = new Set<ServerResponse>();
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== 'Bearer k') {
      res.writeHead(401).end('no');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('retry: 3000\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
  });
  const listening = new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  after(async () => {
    for (const s of streams) s.destroy();
    await new Promise((r) => server.close(r));
  });

  const until = async (cond: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  test('refuses a stream the server does not open', async () => {
    const c = new SseClient({ url: `${await listening}/`, headers: { authorization: 'Bearer wrong' } });
    await assert.rejects(c.start(), /status 401, body "no"/);
    c.close();
  });

  test('counts events by type, take() returns the counts since the last call, and it reconnects after the server ends the stream', async () => {
    const seen: string[] = [];
    const c = new SseClient({ url: `${await listening}/`, headers: { authorization: 'Bearer k' }, onEvent: (type) => seen.push(type), reconnectMs: 20 });
    await c.start();
    await until(() => streams.size === 1, 'the stream');
    const [res] = [...streams];
    res!.write('event: quotes\ndata: {}\n\nevent: quotes\ndata: {}\n\nevent: stats\ndata: {}\n\n');
    await until(() => c.total.stats === 1, 'the events');
    assert.deepEqual({ ...c.take(), bytes: 0 }, { quotes: 2, stats: 1, ticks: 0, other: 0, bytes: 0 });
    assert.equal(c.take().quotes, 0);
    res!.end();
    await until(() => c.disconnects === 1 && streams.size === 1, 'the reconnection');
    [...streams][0]!.write('event: ticks\ndata: {}\n\n');
    await until(() => c.total.ticks === 1, 'an event on the new stream');
    assert.deepEqual(seen, ['quotes', 'quotes', 'stats', 'ticks']);
    c.close();
  });

  test('a paused client makes the server see back-pressure; the kernel queues show where the bytes are; resuming delivers them', async () => {
    const c = new SseClient({ url: `${await listening}/`, headers: { authorization: 'Bearer k' } });
    await c.start();
    await until(() => streams.size === 1, 'the stream');
    const [res] = [...streams];
    c.pause();
    const event = `event: quotes\ndata: ${'x'.repeat(16 * 1024)}\n\n`;
    let written = 0;
    // Write until the server's side has to buffer (the kernel's buffers and the client's are full).
    const end = Date.now() + 5000;
    while (!res!.writableNeedDrain && Date.now() < end) {
      res!.write(event);
      written += Buffer.byteLength(event);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(res!.writableNeedDrain, true, 'the server saw the client stop reading');
    const ports = c.ports!;
    const q = tcpQueues(ports.remote, ports.local);
    assert.ok(q !== null, 'the connection is found in /proc/net/tcp');
    assert.ok(q.receiveQueue > 0, `bytes wait in the client's receive queue (${q.receiveQueue})`);
    assert.ok(q.sendQueue + q.receiveQueue + c.bufferedBytes < written, 'some bytes are still in the server process');
    c.resume();
    await until(() => c.total.bytes >= written, 'every byte after resuming');
    c.close();
  });
});

describe('proc', () => {
  test('readProc reads this process: CPU time grows, RSS matches what Node reports', () => {
    const a = readProc(process.pid);
    const t = performance.now();
    while (performance.now() - t < 50); // burn a little CPU
    const b = readProc(process.pid);
    assert.ok(b.cpuSeconds > a.cpuSeconds, `${b.cpuSeconds} > ${a.cpuSeconds}`);
    const rss = process.memoryUsage.rss() / 1024 / 1024;
    assert.ok(Math.abs(b.rssMb - rss) < rss * 0.2, `${b.rssMb} MB vs ${rss} MB`);
    assert.throws(() => readProc(2 ** 22 + 1), /cannot be read/);
    assert.ok(machineBusySeconds() > 0);
  });

  test('promValue sums every label set of one metric and no other metric', () => {
    const text = [
      '# HELP tickline_source_ticks_total Ticks',
      '# TYPE tickline_source_ticks_total counter',
      'tickline_source_ticks_total{source="sim"} 1500',
      'tickline_source_ticks_total{source="api"} 25',
      'tickline_source_ticks_totalish 7',
      'tickline_nodejs_heap_size_used_bytes 1048576',
    ].join('\n');
    assert.equal(promValue(text, 'tickline_source_ticks_total'), 1525);
    assert.equal(promValue(text, 'tickline_nodejs_heap_size_used_bytes'), 1048576);
    assert.equal(promValue(text, 'tickline_missing'), null);
  });

  test('slope and quantile', () => {
    assert.equal(slope([0, 1, 2, 3], [5, 7, 9, 11]), 2);
    assert.ok(Number.isNaN(slope([1], [1])));
    assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });
});
