#!/usr/bin/env node
/**
 * `node test/dist/bench/summarize-runs.js RUN.json...`: median (min–max) of every figure the
 * README's benchmark table quotes, over the full bench runs given (scripts/bench.sh --out), then
 * the hostPort, masquerade, peer-programming and cross-node rows (issues 20 and 21; also from
 * `--only hostport|masquerade|vxlan` runs), then the NetworkPolicy rows (issue 22; also from
 * `--only policy` runs). A figure no run has is left out of the last two tables.
 */
import * as fs from 'node:fs';
import { renderTable } from './stats';
import { type BenchJson, FEATURE_FIGURES, POLICY_FIGURES, README_FIGURES, formatRow, summarizeRuns } from './run-summary';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: summarize-runs RUN.json [RUN.json...]\n');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as BenchJson);
const m = runs[0]?.machine;
process.stdout.write(`${runs.length} run(s); machine: ${m?.nproc ?? '?'} CPUs, ${m?.cpuModel ?? '?'}, kernel ${m?.kernel ?? '?'}, Node ${m?.node ?? '?'}\n`);
const table = (rows: ReturnType<typeof summarizeRuns>) =>
  renderTable(
    ['figure', 'median (range)', 'runs'],
    rows.map((r) => [r.label, formatRow(r), String(r.values.length)]),
  );
process.stdout.write(`${table(summarizeRuns(runs, README_FIGURES))}\n`);
const feature = summarizeRuns(runs, FEATURE_FIGURES).filter((r) => r.values.length > 0);
if (feature.length > 0) process.stdout.write(`\nhostPort, masquerade, peer programming, cross-node (issues 20 and 21)\n${table(feature)}\n`);
const policy = summarizeRuns(runs, POLICY_FIGURES).filter((r) => r.values.length > 0);
if (policy.length > 0) process.stdout.write(`\nNetworkPolicy (issue 22; each run's figure is the median of its rounds)\n${table(policy)}\n`);
