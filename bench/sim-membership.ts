/**
 * Membership benchmarks on the deterministic simulator (test/sim), Lifeguard
 * vs plain SWIM (the same code with `lifeguard: false`) on the same seeds:
 *   1. dissemination: rounds and time until 99.9% of N nodes have an update;
 *   2. failure detection p50/p99 and false positives, 5% loss + one starved node;
 *   3. packets and bytes per node per second (should be flat in N).
 * Run: bun bench/sim-membership.ts [--quick] [--only=dissemination|load|detection] [--detection-seeds=N]
 * (--detection-seeds=24 --only=detection gives enough plain-SWIM false positives to bound the ratio.)
 * Times are virtual (simulated) time, so results do not depend on machine load.
 */
import { createRng } from "../core/random.ts";
import { retransmitLimit, swimConfig, type SwimConfig } from "../core/swim/index.ts";
import { Simulation } from "../test/sim/sim.ts";

const quick = process.argv.includes("--quick");
const argValue = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = argValue("only");
const detectionSeeds = Number(argValue("detection-seeds") ?? (quick ? 1 : 6));
if (!Number.isInteger(detectionSeeds) || detectionSeeds < 1) throw new Error("--detection-seeds must be a positive integer");
if (only !== undefined && !["dissemination", "load", "detection"].includes(only)) throw new Error("--only must be dissemination, load or detection");
const SEEDS = quick ? [1] : [1, 2, 3];
const wall0 = performance.now();

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}
const median = (xs: number[]) => pct(xs, 50);
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "—");

function table(title: string, head: string[], rows: (string | number)[][]): void {
  console.log(`\n### ${title}\n`);
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

// ---------------------------------------------------------------- 1. dissemination

/** Full SWIM simulation: time from broadcast until 99.9% of the other nodes delivered it. */
function disseminateFull(n: number, seed: number, lifeguard: boolean, loss: number): { ms: number; reached: number } {
  const got: number[] = [];
  const sim = new Simulation({ seed, nodes: n, config: { lifeguard }, network: { loss }, checkInvariants: false, onDeliver: (_i, _o, _p, now) => got.push(now) });
  const t0 = 3_000;
  sim.run(t0);
  sim.broadcast(0, new Uint8Array([1, 2, 3, 4]));
  sim.run(t0 + 6_000);
  const need = Math.ceil(0.999 * (n - 1));
  got.sort((a, b) => a - b);
  return { ms: got.length >= need ? (got[need - 1] as number) - t0 : Infinity, reached: got.length / (n - 1) };
}

/**
 * Light model for N where full membership tables do not fit (10,000 nodes × 10,000
 * records): each node holding the update gossips it every `gossipInterval` (own
 * random phase) to `gossipNodes` random peers, until it has sent it λ·ceil(log10(N+1))
 * times — the same queue rule as core/gossip, without probes, piggybacking or latency
 * beyond one packet. Probe piggybacking only speeds the real thing up.
 */
function disseminateModel(n: number, seed: number, cfg: SwimConfig, loss: number): { ms: number; reached: number } {
  const rng = createRng(seed);
  const limit = retransmitLimit(cfg, n);
  const has = new Uint8Array(n);
  const sends = new Uint16Array(n);
  const phase = new Float64Array(n);
  for (let i = 0; i < n; i++) phase[i] = rng.next() * cfg.gossipIntervalMs;
  const learned = new Float64Array(n).fill(Infinity);
  has[0] = 1;
  learned[0] = 0;
  let count = 1;
  const need = Math.ceil(0.999 * (n - 1)) + 1;
  // Event-driven: a min-heap of gossip rounds ordered by time.
  type E = { t: number; i: number };
  const q: E[] = [];
  const push = (e: E) => {
    q.push(e);
    let k = q.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if ((q[p] as E).t <= e.t) break;
      q[k] = q[p] as E;
      k = p;
    }
    q[k] = e;
  };
  const pop = (): E | undefined => {
    const top = q[0];
    const last = q.pop();
    if (q.length === 0 || last === undefined) return top;
    let k = 0;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= q.length) break;
      const r = l + 1;
      const c = r < q.length && (q[r] as E).t < (q[l] as E).t ? r : l;
      if ((q[c] as E).t >= last.t) break;
      q[k] = q[c] as E;
      k = c;
    }
    q[k] = last;
    return top;
  };
  const nextRound = (i: number, after: number) => {
    const p = phase[i] as number;
    const k = Math.floor((after - p) / cfg.gossipIntervalMs) + 1;
    return p + k * cfg.gossipIntervalMs;
  };
  push({ t: nextRound(0, 0), i: 0 });
  let doneAt = Infinity;
  for (let e = pop(); e !== undefined; e = pop()) {
    const i = e.i;
    for (let k = 0; k < cfg.gossipNodes && (sends[i] as number) < limit; k++) {
      sends[i] = (sends[i] as number) + 1;
      let j = rng.int(n - 1);
      if (j >= i) j++;
      if (loss > 0 && rng.next() < loss) continue;
      const arrive = e.t + 1 + rng.next() * 4; // ~same latency as the full sim (1 ms + jitter)
      if (has[j] === 0) {
        has[j] = 1;
        learned[j] = arrive;
        count++;
        if (count === need) doneAt = arrive;
        push({ t: nextRound(j, arrive), i: j });
      }
    }
    if ((sends[i] as number) < limit) push({ t: e.t + cfg.gossipIntervalMs, i });
  }
  return { ms: doneAt, reached: (count - 1) / (n - 1) };
}

function benchDissemination(): void {
  const rows: (string | number)[][] = [];
  const cfg = swimConfig();
  const sizes: { n: number; full: boolean }[] = [
    { n: 100, full: true },
    { n: 1000, full: true },
    { n: 1000, full: false },
    { n: 10_000, full: false },
  ];
  for (const loss of [0, 0.05]) {
    for (const { n, full } of sizes) {
      const res: Record<string, number[]> = { lg: [], plain: [], reach: [] };
      for (const seed of SEEDS) {
        for (const lifeguard of [true, false]) {
          const r = full ? disseminateFull(n, seed, lifeguard, loss) : disseminateModel(n, seed, swimConfig({ lifeguard }), loss);
          (lifeguard ? res.lg : res.plain)!.push(r.ms);
          res.reach!.push(r.reached);
        }
      }
      const lg = median(res.lg!);
      const plain = median(res.plain!);
      const target = n === 1000 ? "≤ 1.80 s (Serf model)" : "—";
      rows.push([
        n.toLocaleString("en"),
        full ? "full SWIM sim" : "gossip model (see note)",
        `${loss * 100}%`,
        f(lg / cfg.gossipIntervalMs, 1),
        f(lg / 1000),
        f(plain / 1000),
        f(plain / lg),
        f(Math.min(...res.reach!) * 100, 2) + "%",
        target,
      ]);
    }
  }
  table(
    `Dissemination: time until 99.9% of N learn one update (gossip ${cfg.gossipIntervalMs} ms, fanout ${cfg.gossipNodes}, λ=${cfg.retransmitMult}; median of seeds ${SEEDS.join(",")})`,
    ["N", "model", "loss", "rounds (LG)", "time s (Lifeguard)", "time s (plain SWIM)", "plain/LG", "min reach", "target"],
    rows,
  );
  console.log(
    "\nNote: 10,000 nodes uses the light gossip model (every node would hold 10,000 member records — 100M objects — too big for this bench). " +
      "The model is checked against the full simulation at N=1,000 in the rows above; it ignores probe piggybacking, so it is pessimistic.",
  );
}

// ---------------------------------------------------------------- 2. failure detection

interface Detection {
  first: number[];
  all: number[];
  fpHealthy: number;
  fpStarved: number;
  fpNodes: number;
  incidents: number;
  starvedIncidents: number;
}

/** CPU starvation used by the detection bench: the receive path runs 0.1–0.6 s, then stalls 1–4 s. */
const STARVE = { runMs: [100, 600] as const, stallMs: [1000, 4000] as const };

function detection(n: number, seed: number, lifeguard: boolean, durationMs: number, crashes: number): Detection {
  const crashedAt = new Map<string, number>();
  const firstDead = new Map<string, number>();
  const deadCount = new Map<string, number>();
  const allAt: number[] = [];
  const starved = 1;
  let fpHealthy = 0;
  let fpStarved = 0;
  const fpTargets = new Set<string>();
  const incidents = new Set<string>();
  const sim: Simulation = new Simulation({
    seed,
    nodes: n,
    config: { lifeguard },
    checkInvariants: false,
    onEvent: (obs, ev, now) => {
      if (ev.type !== "dead") return;
      const id = ev.member.id;
      const c = crashedAt.get(id);
      if (c !== undefined) {
        if (ev.local && !firstDead.has(id)) firstDead.set(id, now - c);
        const k = (deadCount.get(id) ?? 0) + 1;
        deadCount.set(id, k);
        if (k === n - crashes) allAt.push(now - c);
        return;
      }
      if (!ev.local) return;
      fpTargets.add(id);
      incidents.add(`${id}@${ev.member.incarnation}`);
      if (id === `n${starved}`) fpStarved++;
      else fpHealthy++;
      void obs;
    },
  });
  sim.run(2_000);
  sim.setNetwork({ loss: 0.05 });
  sim.starve(starved, STARVE);
  const rng = createRng(seed ^ 0x5eed);
  const victims: number[] = [];
  while (victims.length < crashes) {
    const v = 2 + rng.int(n - 2);
    if (!victims.includes(v)) victims.push(v);
  }
  const span = durationMs - 40_000;
  victims.forEach((v, k) => {
    sim.run(2_000 + 10_000 + (k * span) / crashes);
    crashedAt.set(`n${v}`, sim.now);
    sim.crash(v);
  });
  sim.run(2_000 + durationMs);
  const starvedIncidents = [...incidents].filter((k) => k.startsWith(`n${starved}@`)).length;
  return { first: [...firstDead.values()], all: allAt, fpHealthy, fpStarved, fpNodes: fpTargets.size, incidents: incidents.size, starvedIncidents };
}

function benchDetection(): void {
  const n = 1000;
  const duration = quick ? 60_000 : 120_000;
  const crashes = quick ? 5 : 10;
  const agg = { lg: [] as Detection[], plain: [] as Detection[] };
  for (let seed = 1; seed <= detectionSeeds; seed++) {
    agg.lg.push(detection(n, seed, true, duration, crashes));
    agg.plain.push(detection(n, seed, false, duration, crashes));
  }
  const sum = (ds: Detection[], k: "fpHealthy" | "fpStarved" | "fpNodes" | "incidents") => ds.reduce((a, d) => a + d[k], 0);
  const rows: (string | number)[][] = [];
  for (const [name, ds] of [["Lifeguard", agg.lg], ["plain SWIM", agg.plain]] as const) {
    const first = ds.flatMap((d) => d.first);
    const all = ds.flatMap((d) => d.all);
    rows.push([
      name,
      `${first.length}/${ds.length * crashes}`,
      f(median(first) / 1000),
      f(pct(first, 99) / 1000),
      f(median(all) / 1000),
      sum(ds, "fpHealthy"),
      sum(ds, "fpStarved"),
      sum(ds, "incidents"),
      sum(ds, "fpNodes"),
    ]);
  }
  table(
    `Failure detection at N=${n}, 5% loss, one CPU-starved node (receive path runs ${STARVE.runMs.join("–")} ms, stalls ${STARVE.stallMs.join("–")} ms; its timers keep firing), ${crashes} crashes per run, ${duration / 1000} s per run, ${agg.lg.length} seed(s)`,
    ["", "detected", "first detection p50 s", "p99 s", "everyone knows p50 s", "false deaths of healthy nodes (declarations)", "false deaths of the starved node (declarations)", "false-death incidents (node, incarnation)", "falsely-dead nodes (summed per seed)"],
    rows,
  );
  const ratio = (k: "fpHealthy" | "incidents") => {
    const lg = sum(agg.lg, k);
    const pl = sum(agg.plain, k);
    return lg === 0 ? `≥ ${pl}× (Lifeguard: 0, plain: ${pl}; the true ratio needs a longer run to bound)` : `${f(pl / lg, 1)}× (plain ${pl} / Lifeguard ${lg})`;
  };
  console.log(`\nfewer false deaths of healthy nodes with Lifeguard: ${ratio("fpHealthy")}; target ≥ 50×.`);
  {
    // With 0 observed, the rate is below 3 per run set at 95% confidence (rule of three, Poisson).
    const lg = sum(agg.lg, "fpHealthy");
    const pl = sum(agg.plain, "fpHealthy");
    const bound = lg === 0 ? pl / 3 : NaN;
    if (lg === 0) console.log(`  (0 observed: at 95% confidence Lifeguard's expected count is < 3 here, so the ratio is ≥ ${f(bound, 1)}× at 95%; showing ≥ 50× at 95% needs plain ≥ 150 in a longer run.)`);
  }
  {
    // The starved node itself, counted the same way in both modes: distinct (node, incarnation) incidents
    // in which at least one observer's own suspicion timer declared it dead.
    const lg = agg.lg.reduce((a, d) => a + d.starvedIncidents, 0);
    const pl = agg.plain.reduce((a, d) => a + d.starvedIncidents, 0);
    console.log(
      `false-death incidents of the starved node itself: Lifeguard ${lg}, plain ${pl} (${lg === 0 ? `≥ ${pl}×` : `${f(pl / lg, 1)}×`}). ` +
        "Its receive path is stalled ~88% of the time, in stalls up to 4 s; every prober independently fails to reach it, which is what " +
        "Lifeguard's confirmations count as evidence, so its suspicion shrinks to the same minimum (α·log10(N)·interval = 3 s here) as plain SWIM's.",
    );
  }
  console.log(`fewer false-death incidents of any live node, the starved one included: ${ratio("incidents")}. (Lifeguard's own metric is false positives at healthy members; a node whose receive path stalls for up to 4 s is arguably failing.)`);
  console.log(`detection p50 with Lifeguard: ${f(median(agg.lg.flatMap((d) => d.first)) / 1000)} s (first node to declare the crashed node dead); target ≤ 5 s.`);
  console.log("p99 over this few crashes is close to the maximum; a declaration counts once per observer whose own suspicion timer fired.");
}

// ---------------------------------------------------------------- 3. load per node

function benchLoad(): void {
  const rows: (string | number)[][] = [];
  const sizes = quick ? [100, 300] : [100, 300, 1000];
  const window = 30_000;
  const base: Record<string, { p: number; b: number }> = {};
  for (const lossy of [false, true]) {
    for (const n of sizes) {
      const cells: string[] = [];
      for (const lifeguard of [true, false]) {
        const sim = new Simulation({ seed: 1, nodes: n, config: { lifeguard }, checkInvariants: false });
        sim.run(5_000);
        if (lossy) sim.setNetwork({ loss: 0.05 });
        for (const x of sim.nodes) {
          x.sentPackets = 0;
          x.sentBytes = 0;
          x.sentStreams = 0;
          x.sentStreamBytes = 0;
        }
        sim.run(5_000 + window);
        let p = 0;
        let b = 0;
        let sm = 0;
        let sb = 0;
        for (const x of sim.nodes) {
          p += x.sentPackets;
          b += x.sentBytes;
          sm += x.sentStreams;
          sb += x.sentStreamBytes;
        }
        const secs = window / 1000;
        const pps = p / n / secs;
        const bps = b / n / secs;
        // Messages = UDP packets + TCP stream messages; bytes = UDP + TCP.
        const mps = (p + sm) / n / secs;
        const tbps = (b + sb) / n / secs;
        const key = `${lossy}${lifeguard}`;
        base[key] ??= { p: mps, b: tbps };
        cells.push(f(pps), f(bps, 0), f(sb / n / secs, 0), `${f(mps / base[key]!.p)} / ${f(tbps / base[key]!.b)}`);
      }
      rows.push([n.toLocaleString("en"), lossy ? "5%" : "0%", ...cells]);
    }
  }
  table(
    `Load per node per second (steady state, ${window / 1000} s window, no crashes)`,
    ["N", "loss", "LG pkts/s", "LG UDP B/s", "LG TCP B/s", `LG vs N=${sizes[0]} (msgs/bytes, UDP+TCP)`, "plain pkts/s", "plain UDP B/s", "plain TCP B/s", `plain vs N=${sizes[0]}`],
    rows,
  );
  console.log(
    "\nTarget: constant in N (ratios ≈ 1). UDP bytes grow slightly with N because node ids in the sim are longer. " +
      `TCP is push-pull anti-entropy: its period grows with log2(N) (memberlist's pushPullScale) and it sends digests first (${swimConfig().pushPullBuckets} bucket hashes), ` +
      "then only the members of differing buckets, so its bytes do not grow with N; joins and reconnects still send the full digest.",
  );
}

console.log(`# Fizz membership simulation bench${quick ? " (quick)" : ""}`);
if (only === undefined || only === "dissemination") benchDissemination();
if (only === undefined || only === "load") benchLoad();
if (only === undefined || only === "detection") benchDetection();
console.log(`\n(wall time ${f((performance.now() - wall0) / 1000, 1)} s, CPU ${f((process.cpuUsage().user + process.cpuUsage().system) / 1e6, 1)} s; wall grows with machine load)`);
