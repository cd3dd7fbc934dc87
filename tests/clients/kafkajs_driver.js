#!/usr/bin/env node
// kafkajs (2.2.4, from tests/clients/node_modules) driven from kappa's client tests.
//
//   node kafkajs_driver.js --bootstrap H:P [--timeout S] produce --topic T --count N [--prefix P]
//   node kafkajs_driver.js --bootstrap H:P member --topic T --group G [--count N]
//   node kafkajs_driver.js --bootstrap H:P admin CALL...  (create_topics:T:PARTS, list_topics,
//        fetch_topic_offsets:T, describe_groups:G)
//
// `member` is one consumer-group member: it prints every assignment ("assigned") and every
// record it consumes, commits after each, and runs until it has consumed N records (without
// --count: until SIGTERM/SIGINT or --timeout), so a test can run two and kill one.
// Prints JSON lines, exits 1 on failure.  Records: key "<prefix>k<i>", value "<prefix>v<i>".
'use strict';

const path = require('path');
const { Kafka, logLevel } = require(path.join(__dirname, 'node_modules', 'kafkajs'));
const kafkajsVersion = require(path.join(__dirname, 'node_modules', 'kafkajs', 'package.json')).version;

function emit(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
function fail(msg) { emit({ event: 'error', error: String(msg) }); process.exit(1); }

function parseArgs(argv) {
  const opts = { timeout: 20, prefix: '', calls: [] };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (name === 'debug') { opts.debug = true; continue; }
      if (i + 1 >= argv.length) fail('missing value for ' + a);
      opts[name] = argv[++i];
    } else {
      rest.push(a);
    }
  }
  if (!opts.bootstrap || rest.length === 0) {
    process.stderr.write('usage: kafkajs_driver.js --bootstrap H:P [--timeout S] produce|member|admin ...\n');
    process.exit(2);
  }
  opts.cmd = rest[0];
  opts.calls = rest.slice(1);
  opts.timeout = Number(opts.timeout);
  if (opts.count !== undefined) opts.count = Number(opts.count);
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const timeoutMs = opts.timeout * 1000;
// A last resort: whatever hangs, the process ends.
setTimeout(() => fail('timed out after ' + opts.timeout + 's'), timeoutMs + 5000).unref();

const kafka = new Kafka({
  clientId: 'kappa-kafkajs-driver',
  brokers: opts.bootstrap.split(','),
  connectionTimeout: 5000,
  requestTimeout: Math.max(timeoutMs, 10000),
  retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
  logLevel: opts.debug ? logLevel.DEBUG : logLevel.NOTHING,
});

async function produce() {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < opts.count; i++) {
    messages.push({ key: `${opts.prefix}k${i}`, value: `${opts.prefix}v${i}` });
  }
  // One send per record: kafkajs answers a send with one base offset per partition,
  // so per-record offsets need per-record sends (in order, acks=all).
  for (const m of messages) {
    const [r] = await producer.send({ topic: opts.topic, acks: -1, messages: [m] });
    if (r.errorCode !== 0) fail(`send ${m.key}: error ${r.errorCode}`);
    emit({ event: 'delivered', topic: r.topicName, partition: r.partition, offset: Number(r.baseOffset),
           key: m.key, value: m.value });
  }
  await producer.disconnect();
  emit({ event: 'done', count: messages.length });
}

async function member() {
  const consumer = kafka.consumer({
    groupId: opts.group, sessionTimeout: 6000, rebalanceTimeout: 10000, heartbeatInterval: 500,
    maxWaitTimeInMs: 500, allowAutoTopicCreation: false,
  });
  let n = 0;
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    try { await consumer.disconnect(); } catch (e) { /* leaving anyway */ }
    emit({ event: 'done', count: n });
    process.exit(code);
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const a = e.payload.memberAssignment || {};
    emit({ event: 'assigned', topic: opts.topic, partitions: (a[opts.topic] || []).slice().sort((x, y) => x - y),
           member: e.payload.memberId, leader: e.payload.isLeader, generation: e.payload.groupGenerationId });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    emit({ event: 'warning', error: String(e.payload.error) });
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
  setTimeout(() => {
    if (opts.count !== undefined) fail(`member consumed ${n} of ${opts.count} records in ${opts.timeout}s`);
    stop(0);
  }, timeoutMs).unref();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      emit({ event: 'record', topic, partition, offset: Number(message.offset),
             key: message.key ? message.key.toString() : '', value: message.value ? message.value.toString() : '',
             timestamp: Number(message.timestamp) });
      const next = String(Number(message.offset) + 1);
      await consumer.commitOffsets([{ topic, partition, offset: next }]);
      n++;
      if (opts.count !== undefined && n >= opts.count) setImmediate(() => stop(0));
    },
  });
}

async function admin() {
  const ad = kafka.admin();
  await ad.connect();
  let failed = 0;
  for (const call of opts.calls) {
    const [name, ...args] = call.split(':');
    try {
      let result;
      if (name === 'create_topics') {
        result = await ad.createTopics({ topics: [{ topic: args[0], numPartitions: Number(args[1]) }],
                                         waitForLeaders: true, timeout: timeoutMs });
      } else if (name === 'list_topics') {
        result = (await ad.listTopics()).sort();
      } else if (name === 'fetch_topic_offsets') {
        result = (await ad.fetchTopicOffsets(args[0]))
          .map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }))
          .sort((x, y) => x.partition - y.partition);
      } else if (name === 'describe_groups') {
        const r = await ad.describeGroups([args[0]]);
        result = r.groups.map((g) => ({ group: g.groupId, state: g.state, protocol: g.protocol, members: g.members.length }));
      } else {
        fail('unknown admin call ' + name);
      }
      emit({ event: 'admin', call: name, ok: true, result });
    } catch (e) {
      failed++;
      emit({ event: 'admin', call: name, ok: false, error: `${e.name}: ${e.message}` });
    }
  }
  await ad.disconnect();
  if (failed) process.exit(1);
  emit({ event: 'done' });
}

emit({ event: 'client', name: 'kafkajs', version: kafkajsVersion });
const cmds = { produce, member, admin };
if (!cmds[opts.cmd]) fail('unknown subcommand ' + opts.cmd);
cmds[opts.cmd]().catch((e) => fail(`${e.name}: ${e.message}`));
