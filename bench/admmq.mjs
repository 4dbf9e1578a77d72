// The synthetic experiment of Huang et al. (2020), "ADMM-Q": minimize
// f(x) = ½xᵀQx + bᵀx over the lattice 8·ℤ^16 with ADMM-Q, ADMM-S (soft), ADMM-R
// (random) and projected gradient descent, from 50 random starts, and compare
// them with rounding the continuous optimum and with the exact lattice optimum.
//
//   npm run bench:admmq                 full grid (about 10 minutes on one core)
//   node bench/admmq.mjs --quick        small grid, seconds
//   options: --instances N  --seed S  --starts N  --iterations N  --out FILE
//
// Instance k: Q = AᵀA + 10·ggᵀ (A 16×16, g 16×1 standard normal), b = 20·N(0, I),
// from seed mixSeed(S, k); starts x0 = 10·N(0, I). ρ = r·L (L = λmax(Q)),
// r ∈ 10^-6..10^2; ADMM-S β ∈ 10^-5..10^5 (norm over the whole vector); ADMM-R
// p ∈ {0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99}; PGD step η = s/L, s ∈ {0.01, 0.1,
// 0.5, 1, 1.5, 1.99}. Each run: 30,000 iterations, scored by the best f(round(x))
// of its last 50 iterates. Each method is reported at its best setting (lowest
// median over the starts). Writes a Markdown table to stdout and JSON to
// bench/results/admmq.json (admmq-quick.json with --quick).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  QuadraticADMM,
  continuousMinimizer,
  gaussian,
  largestEigenvalue,
  latticeMinimum,
  latticeRound,
  quadraticObjective,
  randomQuadratic,
  runPGD,
} from '../dist/sim/quadratic.js';
import { mixSeed, mulberry32 } from '../dist/util/random.js';

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name) => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0)
        throw new Error(`${name} needs a non-negative integer, got '${argv[i]}'`);
      return v;
    };
    if (a === '--quick') opts.quick = true;
    else if (a === '--instances') opts.instances = num(a);
    else if (a === '--seed') opts.seed = num(a);
    else if (a === '--starts') opts.starts = num(a);
    else if (a === '--iterations') opts.iterations = num(a);
    else if (a === '--out') opts.out = argv[++i];
    else
      throw new Error(
        `unknown option '${a}' (--quick, --instances N, --seed S, --starts N, --iterations N, --out FILE)`,
      );
  }
  return opts;
}

const pow10 = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => 10 ** (from + i));

function config(o) {
  const full = {
    instances: 4,
    starts: 50,
    iterations: 30_000,
    rs: pow10(-6, 2),
    betas: pow10(-5, 5),
    ps: [0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99],
    pgdSteps: [0.01, 0.1, 0.5, 1, 1.5, 1.99],
  };
  const quick = {
    instances: 2,
    starts: 10,
    iterations: 3_000,
    rs: [1e-4, 1e-3, 1e-2, 1e-1, 1],
    betas: [1e-3, 1e-1, 10, 1e3],
    ps: [0.1, 0.5, 0.9],
    pgdSteps: [0.1, 1, 1.99],
  };
  const c = o.quick ? quick : full;
  return {
    ...c,
    quick: o.quick,
    out: o.out,
    instances: o.instances ?? c.instances,
    starts: o.starts ?? c.starts,
    iterations: o.iterations ?? c.iterations,
    seed: o.seed ?? 2020,
    tail: 50,
    spacing: 8,
    dim: 16,
  };
}

/** Quantile with linear interpolation between order statistics (numpy's default). */
function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  if (lo === hi || sorted[hi] === Infinity) return lo === hi ? sorted[lo] : Infinity;
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarize(values) {
  const s = Float64Array.from(values).sort();
  return { median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75), min: s[0] };
}

/** The setting with the lowest median (ties: lower q3, then first). */
function bestOf(settings) {
  return settings.reduce((a, b) =>
    b.median < a.median || (b.median === a.median && b.q3 < a.q3) ? b : a,
  );
}

function runInstance(cfg, k) {
  const t0 = performance.now();
  const problem = randomQuadratic({ seed: mixSeed(cfg.seed, k), dim: cfg.dim, v: 10, bScale: 20 });
  const L = largestEigenvalue(problem.Q, problem.n);
  const rng = mulberry32(mixSeed(cfg.seed, k, 1));
  const starts = Array.from({ length: cfg.starts }, () =>
    Float64Array.from({ length: problem.n }, () => 10 * gaussian(rng)),
  );
  const runOpts = { iterations: cfg.iterations, tail: cfg.tail, spacing: cfg.spacing };
  let bestKnown = Infinity;
  let iterationsDone = 0;
  const settings = { admmq: [], admms: [], admmr: [], admmrv: [], pgd: [] };
  const record = (list, setting, results) => {
    const scores = results.map((r) => r.best);
    for (const r of results) {
      bestKnown = Math.min(bestKnown, r.best);
      iterationsDone += r.iterations;
    }
    list.push({ ...setting, ...summarize(scores), scores });
  };
  cfg.rs.forEach((r, ri) => {
    const solver = new QuadraticADMM(problem, r * L);
    const runAll = (variant, si) =>
      starts.map((x0, s) =>
        solver.run(x0, variant, { ...runOpts, seed: mixSeed(cfg.seed, k, 2, ri, si, s) }),
      );
    record(settings.admmq, { r }, runAll({ kind: 'hard' }, 0));
    cfg.betas.forEach((beta, bi) => {
      record(settings.admms, { r, beta }, runAll({ kind: 'soft', beta }, 1 + bi));
    });
    cfg.ps.forEach((p, pi) => {
      record(settings.admmr, { r, p }, runAll({ kind: 'random', p }, 1 + cfg.betas.length + pi));
    });
    cfg.ps.forEach((p, pi) => {
      const si = 1 + cfg.betas.length + cfg.ps.length + pi;
      record(settings.admmrv, { r, p }, runAll({ kind: 'random', p, skip: 'unprojected' }, si));
    });
  });
  for (const s of cfg.pgdSteps) {
    record(
      settings.pgd,
      { s },
      starts.map((x0) => runPGD(problem, x0, s / L, runOpts)),
    );
  }
  const xStar = continuousMinimizer(problem);
  const rounded = quadraticObjective(problem, latticeRound(xStar, cfg.spacing));
  bestKnown = Math.min(bestKnown, rounded);
  const exact = latticeMinimum(problem, {
    spacing: cfg.spacing,
    upperBound: bestKnown,
    maxNodes: 5e7,
  });
  const optimum = exact.value ?? bestKnown;
  // Runs that reached the optimum, then drop the raw scores (the JSON keeps summaries).
  const tol = 1e-9 * Math.max(1, Math.abs(optimum));
  for (const list of Object.values(settings)) {
    for (const st of list) {
      st.atOptimum = st.scores.filter((v) => v <= optimum + tol).length / st.scores.length;
      delete st.scores;
    }
  }
  const methods = {
    'ADMM-Q': bestOf(settings.admmq),
    'ADMM-S': bestOf(settings.admms),
    'ADMM-R': bestOf(settings.admmr),
    'ADMM-R (skip→v)': bestOf(settings.admmrv),
    PGD: bestOf(settings.pgd),
    'round(x*)': {
      median: rounded,
      q1: rounded,
      q3: rounded,
      min: rounded,
      atOptimum: rounded <= optimum + tol ? 1 : 0,
    },
  };
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(
    `instance ${k}: L = ${L.toFixed(1)}, optimum ${optimum.toFixed(2)} (${exact.value === null ? 'best known' : `exact, ${exact.nodes} nodes`}), ` +
      `${(iterationsDone / 1e6).toFixed(1)}M iterations in ${seconds.toFixed(1)} s\n`,
  );
  return {
    k,
    seed: mixSeed(cfg.seed, k),
    L,
    continuousOptimum: quadraticObjective(problem, xStar),
    rounded,
    latticeOptimum: exact.value,
    bestKnown,
    optimum,
    methods,
    settings,
    iterations: iterationsDone,
    seconds,
  };
}

const fmt = (v) => (Math.abs(v) >= 1e5 ? v.toExponential(3) : v.toFixed(1));
const settingText = (name, m) => {
  if (name === 'ADMM-Q') return `r=${m.r.toExponential(0)}`;
  if (name === 'ADMM-S') return `r=${m.r.toExponential(0)}, β=${m.beta.toExponential(0)}`;
  if (name.startsWith('ADMM-R')) return `r=${m.r.toExponential(0)}, p=${m.p}`;
  if (name === 'PGD') return `η=${m.s}/L`;
  return '-';
};

function main() {
  const cfg = config(parseArgs(process.argv.slice(2)));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const instances = [];
  for (let k = 0; k < cfg.instances; k++) instances.push(runInstance(cfg, k));
  const names = ['ADMM-Q', 'ADMM-S', 'ADMM-R', 'ADMM-R (skip→v)', 'PGD', 'round(x*)'];

  // Excess over the lattice optimum in units of rounding's excess: 0 = optimum, 1 = round(x*).
  const excess = (inst, v) => (v - inst.optimum) / (inst.rounded - inst.optimum);
  const usable = instances.filter(
    (i) => i.rounded - i.optimum > 1e-9 * Math.max(1, Math.abs(i.optimum)),
  );
  const lines = [];
  lines.push(
    `Quadratic experiment (Huang et al. 2020): D=${cfg.dim}, lattice ${cfg.spacing}·ℤ, ${cfg.instances} instances, ` +
      `${cfg.starts} starts each, ${cfg.iterations} iterations, score = best f(round(x)) of the last ${cfg.tail} iterates; ` +
      `ρ = r·L, r ∈ {${cfg.rs.map((r) => r.toExponential(0)).join(', ')}}; each method at its best setting by median; ` +
      `seed ${cfg.seed}${cfg.quick ? ' (--quick grid)' : ''}.`,
  );
  lines.push('');
  lines.push('| instance | L | continuous min | lattice optimum (exact) | f(round(x*)) |');
  lines.push('| --- | --- | --- | --- | --- |');
  for (const i of instances) {
    const opt = i.latticeOptimum === null ? `${fmt(i.optimum)} (best found)` : fmt(i.optimum);
    lines.push(
      `| ${i.k} | ${i.L.toFixed(1)} | ${fmt(i.continuousOptimum)} | ${opt} | ${fmt(i.rounded)} |`,
    );
  }
  lines.push('');
  lines.push(
    '| instance | method | best setting | median | q1 | q3 | best run | starts at optimum | median excess |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const inst of instances) {
    for (const name of names) {
      const m = inst.methods[name];
      lines.push(
        `| ${inst.k} | ${name} | ${settingText(name, m)} | ${fmt(m.median)} | ${fmt(m.q1)} | ${fmt(m.q3)} | ` +
          `${fmt(m.min)} | ${(100 * m.atOptimum).toFixed(0)}% | ${excess(inst, m.median).toFixed(2)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    `Summary over the instances. Excess = (f − lattice optimum) / (f(round(x*)) − lattice optimum): ` +
      `0 is the optimum, 1 is rounding the continuous minimizer` +
      (usable.length < instances.length
        ? ` (${instances.length - usable.length} instance(s) where rounding is optimal left out of the means)`
        : '') +
      '.',
  );
  lines.push('');
  lines.push(
    '| method | mean median excess | lowest median (ties count) | mean share of starts at the optimum |',
  );
  lines.push('| --- | --- | --- | --- |');
  const summary = {};
  for (const name of names) {
    const ex = usable.map((i) => excess(i, i.methods[name].median));
    const wins = instances.filter(
      (i) => i.methods[name].median === Math.min(...names.map((n) => i.methods[n].median)),
    ).length;
    const hits = instances.map((i) => i.methods[name].atOptimum);
    summary[name] = {
      meanExcess: ex.reduce((a, b) => a + b, 0) / ex.length,
      lowestMedian: wins,
      meanAtOptimum: hits.reduce((a, b) => a + b, 0) / hits.length,
    };
    lines.push(
      `| ${name} | ${summary[name].meanExcess.toFixed(2)} | ${wins} of ${instances.length} | ` +
        `${(100 * summary[name].meanAtOptimum).toFixed(0)}% |`,
    );
  }
  lines.push('');
  lines.push(
    'Sensitivity to ρ: mean median excess over the instances at each r (ρ = r·L), each variant at its best β or p for that r.',
  );
  lines.push('');
  const variants = [
    ['ADMM-Q', 'admmq'],
    ['ADMM-S', 'admms'],
    ['ADMM-R', 'admmr'],
    ['ADMM-R (skip→v)', 'admmrv'],
  ];
  lines.push(`| r | ${variants.map(([n]) => n).join(' | ')} |`);
  lines.push(`| --- | ${variants.map(() => '---').join(' | ')} |`);
  const byRho = {};
  for (const r of cfg.rs) {
    const row = variants.map(([name, key]) => {
      const ex = usable.map((i) =>
        excess(i, bestOf(i.settings[key].filter((st) => st.r === r)).median),
      );
      const m = ex.reduce((a, b) => a + b, 0) / ex.length;
      (byRho[name] ??= []).push({ r, meanExcess: m });
      return Number.isFinite(m) ? m.toFixed(2) : 'diverged';
    });
    lines.push(`| ${r.toExponential(0)} | ${row.join(' | ')} |`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  lines.push('');
  lines.push(
    `Total ${(instances.reduce((a, i) => a + i.iterations, 0) / 1e6).toFixed(0)}M iterations in ` +
      `${seconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU (Node ${process.version}).`,
  );
  console.log(lines.join('\n'));

  const out = cfg.out ?? join(here, 'results', cfg.quick ? 'admmq-quick.json' : 'admmq.json');
  const { out: _o, ...protocol } = cfg;
  const json = {
    bench: 'admmq',
    command: cfg.quick ? 'node bench/admmq.mjs --quick' : 'npm run bench:admmq',
    protocol,
    node: process.version,
    seconds,
    cpuSeconds,
    summary,
    byRho,
    instances,
    table: lines.join('\n'),
  };
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  // JSON has no Infinity: a diverged score is written as the string "Infinity".
  const replacer = (_k, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v);
  writeFileSync(tmp, JSON.stringify(json, replacer, 1) + '\n');
  renameSync(tmp, out);
  process.stderr.write(`wrote ${out}\n`);
}

try {
  main();
} catch (e) {
  console.error(`bench/admmq: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
