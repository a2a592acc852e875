/**
 * A router process instrumented with the OpenTelemetry JS SDK, for test/otlp.test.ts: reads a Job
 * (tools/otlp-client.ts) as JSON from stdin, runs it, writes the JobResult as JSON to stdout. The
 * SDK's exporters load node:http by dynamic import, which jest's module sandbox does not run, so
 * they run here, in a process of their own, as they would in a router.
 */
import { runJob, type Job } from '../tools/otlp-client.ts'

async function main() {
  let input = ''
  process.stdin.setEncoding('utf8')
  for await (const chunk of process.stdin) input += chunk
  process.stdout.write(JSON.stringify(await runJob(JSON.parse(input) as Job)))
}

main().catch(e => { console.error(e); process.exit(1) })
