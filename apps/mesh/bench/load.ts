/**
 * Load generator for the dispatch and SSE benchmarks: runs in its own process so the hub's CPU is
 * measured without the client's. Talks to the hub over real HTTP only. Reads a JSON job from
 * argv[2] and prints one JSON result line.
 */
import { request as httpRequest } from "node:http";

interface DispatchJob {
  kind: "dispatch";
  url: string;
  token: string;
  agents: number;
  slots: number;
  tasks: number;
  /** Creation requests in flight at once. */
  creators: number;
  /** When set, create one task every `intervalMs` instead of as fast as possible. */
  intervalMs?: number;
}

interface FanoutJob {
  kind: "fanout";
  url: string;
  token: string;
  subscribers: number;
  rounds: number;
}

const job = JSON.parse(process.argv[2] ?? "{}") as DispatchJob | FanoutJob;

async function call(method: string, url: string, token: string, body?: unknown, agent?: string) {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(agent ? { "x-m3shd-agent": agent } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

async function runDispatch(j: DispatchJob) {
  let stop = false;
  let completed = 0;
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((r) => {
    resolveAll = r;
  });
  const agents = Array.from({ length: j.agents }, (_, i) => `bench-${i}`);
  for (const id of agents) {
    const res = await call("POST", `${j.url}/api/agents/${id}/register`, j.token, {
      capabilities: ["bench"],
      max_concurrent: j.slots,
    });
    if (res.status !== 200) throw new Error(`register ${res.status}`);
  }
  const loops: Promise<void>[] = [];
  for (const id of agents) {
    for (let s = 0; s < j.slots; s++) {
      loops.push(
        (async () => {
          while (!stop) {
            const next = await call("GET", `${j.url}/api/agents/${id}/tasks/next?wait=2`, j.token);
            if (next.status === 204) continue;
            if (next.status !== 200) throw new Error(`next ${next.status} ${JSON.stringify(next.body)}`);
            const task = next.body?.task as { id: string };
            const done = await call(
              "PUT",
              `${j.url}/api/tasks/${task.id}`,
              j.token,
              { status: "done", output: "ok" },
              id,
            );
            if (done.status !== 200) throw new Error(`complete ${done.status} ${JSON.stringify(done.body)}`);
            completed++;
            if (completed === j.tasks) resolveAll();
          }
        })(),
      );
    }
  }
  // Let every poll park before the clock starts.
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  let created = 0;
  const creator = async () => {
    while (created < j.tasks) {
      created++;
      const res = await call("POST", `${j.url}/api/tasks`, j.token, {
        title: "bench",
        prompt: "noop",
        required_capability: "bench",
      });
      if (res.status !== 201) throw new Error(`create ${res.status} ${JSON.stringify(res.body)}`);
      if (j.intervalMs) await new Promise((r) => setTimeout(r, j.intervalMs));
    }
  };
  await Promise.all(Array.from({ length: j.creators }, creator));
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.allSettled(loops);
  const cpu = process.cpuUsage();
  return {
    tasks: j.tasks,
    seconds,
    tasks_per_s: j.tasks / seconds,
    client_cpu_s: (cpu.user + cpu.system) / 1e6,
  };
}

/** Opens `subscribers` SSE streams, then times how long each of `rounds` events takes to reach all. */
async function runFanout(j: FanoutJob) {
  const url = new URL(`${j.url}/api/stream?types=task_created`);
  const waiting = new Map<string, { left: number; resolve: () => void }>();
  let connected = 0;
  const onTitle = (title: string) => {
    const w = waiting.get(title);
    if (!w) return;
    w.left--;
    if (w.left === 0) w.resolve();
  };
  const sockets: { destroy(): void }[] = [];
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < j.subscribers; i++) {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          headers: { authorization: `Bearer ${j.token}` },
        },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`stream ${res.statusCode}`));
          sockets.push(res.socket);
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            if (buf === "" && d.startsWith(":")) {
              connected++;
              if (connected === j.subscribers) resolve();
            }
            buf += d;
            let idx = buf.indexOf("\n\n");
            while (idx >= 0) {
              const frame = buf.slice(0, idx);
              buf = buf.slice(idx + 2);
              const m = /"title":"(fanout-\d+)"/.exec(frame);
              if (m?.[1]) onTitle(m[1]);
              idx = buf.indexOf("\n\n");
            }
          });
        },
      );
      req.on("error", reject);
      req.end();
    }
  });
  const times: number[] = [];
  for (let r = 0; r < j.rounds; r++) {
    const title = `fanout-${r}`;
    const reached = new Promise<void>((resolve) => waiting.set(title, { left: j.subscribers, resolve }));
    const t0 = performance.now();
    await call("POST", `${j.url}/api/tasks`, j.token, {
      title,
      prompt: "x",
      required_capability: "nobody-serves-this",
    });
    await reached;
    times.push(performance.now() - t0);
  }
  for (const s of sockets) s.destroy();
  times.sort((a, b) => a - b);
  return { fanout_ms_p50: times[Math.floor(times.length / 2)] ?? 0, fanout_ms_max: times.at(-1) ?? 0 };
}

const result = job.kind === "dispatch" ? await runDispatch(job) : await runFanout(job);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
