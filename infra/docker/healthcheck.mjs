#!/usr/bin/env node
// The HEALTHCHECK probe of every M3SHD image (the slim base image has no curl or wget).
//   node healthcheck.mjs <url>                          GET <url>: healthy on a 2xx within 3 s
//   node healthcheck.mjs --file <path> --max-age <s>    healthy while <path> was rewritten in the last <s> seconds
// The second form serves processes without a port: a worker (M3SHD_HEALTH_FILE, rewritten after
// each answer from its hub) and the backup scheduler (latest.json, rewritten after each backup).
// Exit 0 healthy, 1 not; one line on stderr says why.
import { statSync } from "node:fs";

const args = process.argv.slice(2);
const fail = (why) => {
  process.stderr.write(`unhealthy: ${why}\n`);
  process.exit(1);
};

if (args[0] === "--file") {
  const path = args[1];
  const maxAge = Number(args[args.indexOf("--max-age") + 1]);
  if (!path || !args.includes("--max-age") || !Number.isFinite(maxAge))
    fail("usage: --file <path> --max-age <seconds>");
  let mtimeMs;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch (err) {
    fail(`${path}: ${err.code ?? err.message}`);
  }
  const age = (Date.now() - mtimeMs) / 1000;
  if (age > maxAge) fail(`${path} is ${Math.round(age)} s old (limit ${maxAge} s)`);
  process.exit(0);
}

const url = args[0];
if (!url) fail("usage: <url> | --file <path> --max-age <seconds>");
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  await res.body?.cancel();
  if (res.status < 200 || res.status > 299) fail(`${url} answered ${res.status}`);
} catch (err) {
  fail(`${url}: ${err.name === "TimeoutError" ? "no answer within 3 s" : err.message}`);
}
process.exit(0);
