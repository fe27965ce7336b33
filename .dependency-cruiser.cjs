/** Layering rules (see ../shared/design.md): enforced in `npm test` and so in CI. */

/**
 * The floors, lowest first (VS Code's layer rule: a layer imports only the layers below it). Every top folder
 * of `core/` / `renderer/` and every folder of `main/` is on exactly one floor; a file may import its own
 * folder and folders on LOWER floors only — never a folder beside it on the same floor, never one above.
 * A `main/` folder missing from this table fails `lint:layers` the day it is created (rule `floor-unlisted`).
 * `main/runs/store` (the run folder, its lock, the checkpoint protocol and its key codec, the weights resolver)
 * sits under `main/training`, which writes runs through it; `main/runs` (the create / resume / eval use cases
 * and the training process) sits above it. `renderer/` additionally never imports `main/` (rule below).
 */
const FLOORS = [
  ['core'],
  ['main/io'],
  ['main/image', 'main/weights'],
  ['main/tfjs'],
  ['main/onnx'],
  ['main/runs/store'],
  ['main/training'],
  ['main/runs', 'main/export'],
  ['main/service'],
  ['main/hosts'],
  ['main/cli'],
  ['renderer'],
];

/** A folder's path pattern; `main/runs` leaves out `main/runs/store`, which has its own floor. */
const NESTED = (folder) => FLOORS.flat().filter((f) => f !== folder && f.startsWith(`${folder}/`));
const pattern = (folder) => `^${folder}/${NESTED(folder).map((n) => `(?!${n.slice(folder.length + 1)}/)`).join('')}`;

function floorRules(floors) {
  const listed = floors.flat().map(pattern);
  const rules = [
    {
      name: 'floor-unlisted',
      comment: 'every folder of main/ (and core/, renderer/) is on a floor of FLOORS in .dependency-cruiser.cjs: add a new folder there',
      severity: 'error',
      from: { path: '^main/', pathNot: listed },
      to: {},
    },
    {
      name: 'floor-unlisted-target',
      comment: 'every folder of main/ is on a floor of FLOORS in .dependency-cruiser.cjs: add a new folder there',
      severity: 'error',
      from: { path: '^(core|main|renderer)/' },
      to: { path: '^main/', pathNot: listed },
    },
  ];
  floors.forEach((floor, i) => {
    for (const folder of floor) {
      const notBelow = floors.slice(i).flat().filter((f) => f !== folder).map(pattern);
      if (!notBelow.length) continue;
      rules.push({
        name: `floor-${folder.replace(/\//g, '-')}`,
        comment: `${folder} (floor ${i}) imports only its own folder and the floors below it: ${floors.slice(0, i).map((f) => f.join(' + ')).join(' < ') || 'nothing'}`,
        severity: 'error',
        from: { path: pattern(folder) },
        to: { path: notBelow },
      });
    }
  });
  return rules;
}

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
    ...floorRules(FLOORS),
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
