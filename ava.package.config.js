// The packed-package tests (npm pack, installs into new projects, tsc, the README's code) run on
// their own, after the rest of the suite: they are the heaviest part of it (npm and tsc), and run
// beside the CLI's real-time tests they would only slow those down.
export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  files: ['test/package/**/*.test.ts'],
  timeout: '4m',
};
