#!/usr/bin/env node
/**
 * `node test/dist/bench/summarize-runs.js RUN.json...`: median (min–max) of every figure the
 * README's benchmark table quotes, over the full bench runs given (scripts/bench.sh --out).
 */
import * as fs from 'node:fs';
import { renderTable } from './stats';
import { type BenchJson, README_FIGURES, formatRow, summarizeRuns } from './run-summary';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: summarize-runs RUN.json [RUN.json...]\n');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as BenchJson);
const m = runs[0]?.machine;
process.stdout.write(`${runs.length} run(s); machine: ${m?.nproc ?? '?'} CPUs, ${m?.cpuModel ?? '?'}, kernel ${m?.kernel ?? '?'}, Node ${m?.node ?? '?'}\n`);
const rows = summarizeRuns(runs, README_FIGURES);
process.stdout.write(
  `${renderTable(
    ['figure', 'median (range)', 'runs'],
    rows.map((r) => [r.label, formatRow(r), String(r.values.length)]),
  )}\n`,
);
