/**
 * The readers of `npm run bench -- --reads` (tools/bench.mts), on a thread of their own: each reads
 * its URL at its pace, one read at a time, until told to stop, then posts its answer times sorted.
 * Apart from the bench's load clients, whose sending of megabytes of JSON would otherwise hold up the
 * timing of reads, as the router's reads and writes come from different machines.
 */
import { parentPort, workerData } from 'node:worker_threads'

interface Reader { url: string; user: string; everyMs: number }
const { base, readers } = workerData as { base: string; readers: Reader[] }
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
let running = true
parentPort!.once('message', () => { running = false })

const times = await Promise.all(readers.map(async ({ url, user, everyMs }) => {
  const headers = { authorization: 'Basic ' + Buffer.from(`${user}:${user}`).toString('base64') }
  const own: number[] = []
  while (running) {
    const start = performance.now()
    const res = await fetch(`${base}${url}`, { headers })
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`)
    await res.arrayBuffer()
    const ms = performance.now() - start
    own.push(ms)
    if (ms < everyMs) await sleep(everyMs - ms)
  }
  return own.sort((a, b) => a - b)
}))
parentPort!.postMessage(times)
