/**
 * A toy alert written the way a new alert is: one folder (this one: policy, rule and definition in one file for
 * brevity) and one line in a registry. toy_unlock_failures{region} fires while more than `limit` unlocks failed in
 * the trailing `window`. registry.test.ts checks that it appears everywhere an alert must.
 */
import { z } from 'zod';
import type { Region, SignEvent, UnlockEvent } from '../../../../schemas/events.js';
import { alertBase } from '../../../../schemas/alert.js';
import { DurationMs } from '../../../../services/platform/validation.js';
import { WindowedRule } from '../../../../services/engine/rule.js';
import { defineRule, promSelector } from '../../../../services/engine/rules/definition.js';
import type { Transition } from '../../../../services/engine/types.js';

export const TOY_METRIC = 'signwatch_toy_unlock_failures';

const policy = z.strictObject({ ...alertBase('critical'), limit: z.number().int().nonnegative().default(1), window: DurationMs.default(600_000) }).prefault({});
type Config = z.output<typeof policy>;

class ToyUnlockFailures extends WindowedRule<UnlockEvent> {
  constructor(
    region: Region,
    private readonly cfg: Config,
  ) {
    super('toy_unlock_failures', region, cfg.severity, cfg.window);
  }
  protected accepts(e: SignEvent): e is UnlockEvent {
    return e.type === 'unlock' && e.outcome === 'fail';
  }
  protected evaluate(t: number, out: Transition[]): void {
    this.window.moveTo(t);
    const n = this.window.count;
    this.set(out, t, { region: this.region }, n > this.cfg.limit, n, this.cfg.limit, (s) => `${this.region}: ${n} failed unlocks (${s})`);
  }
  get failures(): number {
    return this.window.count;
  }
}

export default defineRule({
  name: 'toy_unlock_failures',
  meaning: 'more than `limit` unlock failures in the trailing window (a test of the registry)',
  policy,
  types: ['unlock'],
  labels: [],
  create: (region, cfg) => new ToyUnlockFailures(region, cfg),
  horizon: (cfg) => cfg.window + 123,
  freezes: () => true,
  gauges: [{ name: TOY_METRIC, description: 'Failed unlocks in the toy window', read: (r) => [{ labels: {}, value: r.failures }] }],
  alertRule: (p, ctx) => ({
    alert: 'toy_unlock_failures',
    severity: p.severity,
    base: TOY_METRIC,
    op: '>',
    threshold: p.limit,
    keyLabels: ['region'],
    summary: '{{ $labels.region }}: {{ $value }} failed unlocks',
    description: 'toy',
    runbookUrl: ctx.runbookUrl,
    dashboardUrl: ctx.regionDashboardUrl,
    series: [
      { series: promSelector(TOY_METRIC, { region: 'HK' }), value: p.limit },
      { series: promSelector(TOY_METRIC, { region: 'JP' }), value: p.limit + 1 },
    ],
    fire: [{ labels: { region: 'JP' }, region: 'JP', summary: `JP: ${p.limit + 1} failed unlocks` }],
  }),
});
