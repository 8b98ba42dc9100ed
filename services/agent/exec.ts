/**
 * The exec wrapper's building blocks as a library (the CLI itself is exec-cmd.ts): run a tool like the wrapper
 * does, and turn a run into its event. Used by `signwatch demo`'s simulated hosts.
 */
export { runTool, toolKind, type ToolKind, type ToolRun } from './tool-run.js';
export { eventForRun, recordRun } from './record.js';
export { runExec } from './exec-cmd.js';
