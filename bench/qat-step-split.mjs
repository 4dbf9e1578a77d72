// QAT overhead split by step kind: CPU ms per step of bench/vs-torch.mjs's MLP (784-256-256-10,
// batch 64, momentum SGD 0.01/0.9) plain, and with QuantOptimizer (2-bit LSBQ, PARQ, Q every
// 10 steps) on steps without and with the Q refresh; plain and QAT alternate in blocks of 10.
// Usage (after `npm run build`): node bench/qat-step-split.mjs [prox] [quantizer] [granularity]
// (prox parq | ste | binaryrelax, default parq; quantizer lsbq | unif, default lsbq;
// granularity tensor | channel, default tensor; BK=cpu for the cpu backend; ROOT=<checkout>
// to time another build's dist/; FUSE=0: the QAT step composed, fuseBaseStep false;
// BASE=adam: tf.train.adam(0.001) as the base of both instead of momentum). Also times plain
// steps with FusedBaseOptimizer (tfjs's update as one kernel a variable, as the QAT step's),
// and QAT over those.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const root = (process.env.ROOT ?? new URL('..', import.meta.url).pathname).replace(/\/?$/, '/');
// tfjs as that checkout resolves it: one engine for its dist/ and this script
const tf = await import(
  pathToFileURL(createRequire(root + 'package.json').resolve('@tensorflow/tfjs')).href
);
const parq = await import(root + 'dist/index.js');
const { selectBackend } = await import(root + 'dist/backend/select.js');
const { buildModel, logitsModel } = await import(root + 'dist/models/index.js');
await selectBackend(process.env.BK ?? 'wasm', { threads: 1 });
const [proxName = 'parq', quant = 'lsbq', gran = 'tensor'] = process.argv.slice(2);
const makeProx = () =>
  proxName === 'ste'
    ? new parq.ProxHardQuant()
    : proxName === 'binaryrelax'
      ? new parq.ProxBinaryRelax({ annealStart: 0, annealEnd: 1000 })
      : new parq.ProxPARQ({ annealStart: 0, annealEnd: 1000 });
const mk = (mode) => {
  const net = logitsModel(buildModel('mlp', { inputShape: [784], numClasses: 10, seed: 0 }));
  const base = process.env.BASE === 'adam' ? tf.train.adam(0.001) : tf.train.momentum(0.01, 0.9);
  const optimizer =
    mode === 'plain'
      ? base
      : mode === 'plain-fused'
        ? new parq.FusedBaseOptimizer(base)
        : new parq.QuantOptimizer({
            base,
            quantizer: parq.quantizerByName(quant, 2),
            prox: makeProx(),
            bits: 2,
            granularity: { kind: gran },
            quantPeriod: 10,
            // FUSE=0 (older checkouts ignore the option)
            fuseBaseStep: process.env.FUSE !== '0',
          });
  const x = tf.randomNormal([64, 784], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32', 8), 10);
  const step = () =>
    optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true })),
      true,
    );
  for (let i = 0; i < 3; i++) step().dispose();
  return { step, optimizer };
};
const P = mk('plain'),
  Q = mk('qat');
// plain with tfjs's update fused as the QAT step's is (FusedBaseOptimizer; older checkouts lack it)
const PF = parq.FusedBaseOptimizer ? mk('plain-fused') : null;
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const med = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const plain = [],
  plainFused = [],
  qr = [],
  qn = [];
for (let r = 0; r < 60; r++) {
  for (let i = 0; PF && i < 10; i++) {
    const c0 = cpu();
    const l = PF.step();
    l.dispose();
    plainFused.push(cpu() - c0);
  }
  for (let i = 0; i < 10; i++) {
    const c0 = cpu();
    const l = P.step();
    l.dispose();
    plain.push(cpu() - c0);
  }
  for (let i = 0; i < 10; i++) {
    const refresh = Q.optimizer.step % 10 === 0;
    const c0 = cpu();
    const l = Q.step();
    l.dispose();
    (refresh ? qr : qn).push(cpu() - c0);
  }
}
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
console.log(
  `plain med ${med(plain).toFixed(3)} mean ${mean(plain).toFixed(3)}; qat non-refresh med ${med(qn).toFixed(3)} mean ${mean(qn).toFixed(3)}; refresh med ${med(qr).toFixed(3)} mean ${mean(qr).toFixed(3)}; amortized qat ${((mean(qn) * 9 + mean(qr)) / 10).toFixed(3)}`,
);
const pm = med(plain);
const sign = (d) => (d < 0 ? '' : '+') + d.toFixed(3);
console.log(
  `${proxName} ${quant} per ${gran}${process.env.FUSE === '0' ? ' (composed)' : ' (fused)'}${process.env.BASE === 'adam' ? ', adam' : ''}: non-refresh ${sign(med(qn) - pm)} ms, refresh ${sign(med(qr) - pm)} ms over plain (medians); amortized QAT / plain ${((med(qn) * 9 + med(qr)) / 10 / pm).toFixed(3)}`,
);
if (PF) {
  const pf = med(plainFused);
  console.log(
    `plain with FusedBaseOptimizer: med ${pf.toFixed(3)} ms (${sign(pf - pm)} ms over tfjs's); QAT over it: non-refresh ${sign(med(qn) - pf)} ms, refresh ${sign(med(qr) - pf)} ms; amortized QAT / fused plain ${((med(qn) * 9 + med(qr)) / 10 / pf).toFixed(3)}`,
  );
}
console.log('tensors', tf.memory().numTensors);
