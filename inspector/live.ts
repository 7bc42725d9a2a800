/**
 * `npm run inspect`: a long live conflict storm with the inspector attached.
 * Options: --port N (default 4680), --host H, --duration SECONDS (0 = until Ctrl-C), --targets N, --rate OPS.
 */
import { parseArgs } from 'node:util';
import { runLiveScenario } from './scenario.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4680' },
    host: { type: 'string', default: '127.0.0.1' },
    duration: { type: 'string', default: '120' },
    targets: { type: 'string', default: '6' },
    rate: { type: 'string', default: '40' },
  },
});

try {
  const live = await runLiveScenario({
    durationMs: Number(values.duration) * 1000,
    targets: Number(values.targets),
    ratePerSec: Number(values.rate),
    inspector: { port: Number(values.port), host: values.host },
  });
  process.once('SIGINT', () => void live.stop());
  const { metrics } = await live.done;
  console.log(`done: submitted ${metrics.submitted} = completed ${metrics.completed} + rejected ${metrics.rejected} + in flight ${metrics.inFlight}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
