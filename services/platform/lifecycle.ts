/**
 * The lifecycle every long-running component implements (the OpenTelemetry Collector's component.Component):
 * `start()` resolves when the component does its job; `stop()` is idempotent, safe without `start()` and safe while
 * `start()` is still running, and releases everything the component holds. `lifecycle()` gives a component these
 * guarantees around its own `doStart` / `doStop`, so no component writes them again.
 */
export interface Component {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Lifecycle extends Component {
  readonly started: boolean;
  readonly stopping: boolean;
}

/**
 * Wraps start/stop: start() runs doStart once (a second call returns the same promise); stop() runs doStop once,
 * after a running start() settled, and only if start() was called; a start() after stop() rejects.
 */
export function lifecycle(name: string, doStart: () => Promise<void>, doStop: () => Promise<void>): Lifecycle {
  let startP: Promise<void> | undefined;
  let stopP: Promise<void> | undefined;
  return {
    get started() {
      return startP !== undefined;
    },
    get stopping() {
      return stopP !== undefined;
    },
    start() {
      if (stopP) return Promise.reject(new Error(`${name}: start() after stop()`));
      startP ??= doStart();
      return startP;
    },
    stop() {
      stopP ??= (async () => {
        if (!startP) return;
        await startP.catch(() => {});
        await doStop();
      })();
      return stopP;
    },
  };
}
