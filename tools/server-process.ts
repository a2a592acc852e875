import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import path from 'node:path'

/** Tests and the benchmark run from the project root (npm, jest). */
const root = process.cwd()

/** Whether nothing listens on `port` right now (0: any port the system picks); resolves the port or 0. */
const probe = (port: number) => new Promise<number>(resolve => {
  const server = createServer().once('error', () => resolve(0))
  server.listen(port, () => { const { port } = server.address() as { port: number }; server.close(() => resolve(port)) })
})

/** A TCP port that nothing listens on right now: the first free one of $PORTS (e.g. `6100-6199`) when set, else any. */
export async function freePort() {
  const range = /^(\d+)-(\d+)$/.exec(process.env.PORTS ?? '')
  if (!range) return probe(0)
  const [first, last] = [Number(range[1]), Number(range[2])], size = last - first + 1
  // from the one after the port given last: a server just started may not listen on it yet
  for (let i = 1; i <= size; i++) {
    const port = first + (Math.max(lastPort - first, -1) + i) % size
    if (await probe(port)) return lastPort = port
  }
  throw new Error(`no free port in PORTS=${process.env.PORTS}`)
}
let lastPort = 0

/** The gateway as its own process, started the way `npm start` starts it, with the given cds configuration. */
export async function startServer(config: object, env: Record<string, string> = {}) {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, [path.join(root, 'node_modules/@sap/cds/bin/serve.js')], {
    cwd: root,
    env: {
      ...process.env, NODE_ENV: 'development', PORT: String(port), CDS_TYPESCRIPT: 'true', CDS_CONFIG: JSON.stringify(config),
      // as `npm start` runs it; the small young generation keeps the resident size of bulk ingests low
      NODE_OPTIONS: '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON --max-semi-space-size=8', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', d => { output += d }); child.stderr!.on('data', d => { output += d })
  const url = `http://localhost:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`)
    if (await fetch(`${url}/health`).then(r => r.status === 200, () => false)) break
    if (i > 300) throw new Error(`server did not answer within 30 s:\n${output}`)
    await new Promise(r => setTimeout(r, 100))
  }
  return {
    url, child,
    get output() { return output },
    get alive() { return child.exitCode === null && child.signalCode === null },
    stop: () => new Promise<void>(resolve => { if (child.exitCode !== null) return resolve(); child.once('exit', () => resolve()); child.kill('SIGTERM') }),
  }
}

export const basic = (user: string) => ({ authorization: 'Basic ' + Buffer.from(`${user}:${user}`).toString('base64') })
