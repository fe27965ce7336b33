/** Layering rules (see ../shared/design.md): enforced in `npm test` and so in CI. */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'core/ imports nothing from react, @xyflow, electron, @tensorflow, node builtins or the other layers',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: ['^main/', '^renderer/'] },
    },
    {
      name: 'core-allowed-packages',
      comment: 'core/ may use only pure, platform-free packages',
      severity: 'error',
      from: { path: '^core/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'unknown', 'undetermined'], pathNot: 'node_modules/(immer|zod|yaml)/' },
    },
    {
      name: 'core-no-node-builtins',
      severity: 'error',
      from: { path: '^core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-not-main',
      comment: 'the renderer talks to the Node side only through the API contract in core/',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: ['^main/', 'node_modules/electron/', 'node_modules/@tensorflow/'] },
    },
    {
      name: 'renderer-no-node-builtins',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'main-floors',
      comment: 'the libraries under the service (tfjs, weights, training, export, io) never import the service, the CLI or the hosts: those are adapters on top',
      severity: 'error',
      from: { path: '^main/(tfjs|weights|training|export|io|external)/' },
      to: { path: '^main/(service|cli|hosts)/' },
    },
    {
      name: 'io-is-the-floor',
      comment: 'main/io (atomic writes, safe reads, app folders) imports no other part of main/',
      severity: 'error',
      from: { path: '^main/io/' },
      to: { path: '^main/', pathNot: '^main/io/' },
    },
    {
      name: 'main-not-renderer',
      severity: 'error',
      from: { path: '^main/' },
      to: { path: '^renderer/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.base.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(app/)?dist/' },
  },
};
