// The 1,000,000-operation memory test runs on its own, after the rest of the suite, so that it has
// the machine's cores to itself (it is the one test whose duration the issue bounds).
export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  files: ['test/integration/memory.test.ts'],
  timeout: '4m',
};
