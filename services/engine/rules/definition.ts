/**
 * One alert = one folder (services/engine/rules/<alert>/) exporting one RuleDefinition: everything signwatch knows
 * about the alert. The registry (rules/index.ts) lists the definitions; from it derive
 *   - the policy schema (services/engine/policy.ts: `alerts.<name>` is the definition's `policy`),
 *   - the engine (one `create()` per region), the state horizon a rebuild must re-read (`horizon`),
 *   - the processor's gauges (`gauges`, read from the rule instances), the release gate (`freezes`),
 *   - the generated Prometheus / Grafana rules and promtool tests (`alertRule`),
 *   - the runbook: alerts/runbooks/<name>.md = the folder's runbook.md + a generated block (`labels`, `runbookRows`).
 * Adding an alert = a new folder + one line in rules/index.ts.
 */
import type { z } from 'zod';
import type { AlertBase, Severity } from '../../../schemas/alert.js';
import type { EventType, Region } from '../../../schemas/events.js';
import type { Rule } from '../rule.js';

/** The policy keys outside `alerts` that rules may read. */
export interface PolicyGlobals {
  readonly allowedLateness: number;
  readonly hourlyRetention: number;
  readonly maxFutureSkew: number;
}

/** One gauge reading: labels (always with `region`) and a value. */
export interface GaugeReading {
  labels: Record<string, string>;
  value: number;
}

export interface GaugeDef<R extends Rule = Rule> {
  /** Metric name, `signwatch_<name>_<unit>` (the processor exports it as is). */
  readonly name: string;
  readonly description: string;
  /** Readings of one region's rule instance (the region label is added by the caller when missing). */
  read(rule: R): Iterable<GaugeReading>;
}

/** A promtool test series: held constant for the whole test. */
export interface TestSeries {
  series: string;
  value: number;
}

export interface ExpectedAlert {
  labels: Record<string, string>;
  /** The rendered summary (promtool renders annotation templates). */
  summary: string;
  region?: string;
}

/** The Prometheus / Grafana form of an alert: rendered into alerts/prometheus, alerts/grafana and the runbook. */
export interface RuleSpec {
  alert: string;
  severity: Severity;
  /** PromQL whose value is compared with the threshold. */
  base: string;
  op: '>' | '<';
  threshold: number;
  /** Labels the alert is keyed by (after aggregation). */
  keyLabels: string[];
  summary: string;
  description: string;
  runbookUrl: string;
  dashboardUrl: string;
  /** Series for the promtool test; `fire` must alert, everything else must stay quiet. */
  series: TestSeries[];
  fire: ExpectedAlert[];
  /** The policy's damping, rendered as Prometheus `for` / `keep_firing_for` (ms; set by the generator). */
  forMs?: number;
  keepFiringForMs?: number;
}

/** What a definition gets to render its rule: the links of this policy. */
export interface RuleSpecContext {
  runbookUrl: string;
  /** Per-region dashboard URL with `{{ $labels.region }}` in it. */
  regionDashboardUrl: string;
  fleetDashboardUrl: string;
}

export interface RuleDefinition<N extends string = string, S extends z.ZodType<AlertBase> = z.ZodType<AlertBase>, R extends Rule = Rule> {
  readonly name: N;
  /** One sentence for docs/alerting.md's table: what it means. */
  readonly meaning: string;
  /** The alert's policy block (strict, with defaults): `alerts.<name>` in alerts/policy.yaml. */
  readonly policy: S;
  /** Event types its rule observes. */
  readonly types: readonly EventType[];
  /** Label keys of its transitions (besides `region`, always present). */
  readonly labels: readonly string[];
  /** A region alert: one rule instance per region, fed that region's events (one Kafka partition holds a region). */
  create?(region: Region, cfg: z.output<S>, globals: PolicyGlobals): R;
  /**
   * A fleet alert (instead of `create`): one instance for the whole fleet, fed the accepted events of its types from
   * every region, on the fleet's clock (the largest time of those events). Its labels name the region themselves.
   * Live, the processor forwards those events to a single-partition fleet topic (docs/processor.md).
   */
  createFleet?(cfg: z.output<S>, globals: PolicyGlobals): R;
  /** The longest stretch of event time its state depends on (a rebuild must re-read at least this much). */
  horizon(cfg: z.output<S>): number;
  /** Whether a firing transition freezes the region's releases, when not the policy's `freezes` (default: critical). */
  freezes?(cfg: z.output<S>): boolean;
  readonly gauges: readonly GaugeDef<R>[];
  /** Its Prometheus/Grafana rule, from the policy. */
  alertRule(cfg: z.output<S>, ctx: RuleSpecContext): RuleSpec;
  /** Extra rows for the runbook's generated block. */
  runbookRows?(cfg: z.output<S>): [string, string][];
}

/** Type inference and a check: `export default defineRule({ … })` in a rule folder (exactly one of create/createFleet). */
export function defineRule<N extends string, S extends z.ZodType<AlertBase>, R extends Rule>(d: RuleDefinition<N, S, R>): RuleDefinition<N, S, R> {
  if ((d.create === undefined) === (d.createFleet === undefined)) throw new Error(`alert ${d.name}: define exactly one of create (per region) or createFleet (one for the fleet)`);
  return d;
}

export const isFleetRule = (d: { createFleet?: unknown }): boolean => d.createFleet !== undefined;

/** Any definition, whatever its config and rule types (the registry's element type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds definitions of different config types
export type AnyRuleDefinition = RuleDefinition<string, z.ZodType<AlertBase>, any>;

/** A PromQL selector `metric{k="v",…}`. */
export const promSelector = (metric: string, labels: Record<string, string>): string =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

/** Go's %v rendering of a float64 for the integer and short decimal values used in tests. */
export const goFloat = (n: number): string => String(n);

/** The generic gauge every alert has: 1 while it fires ({alert, region, severity, …its labels}). */
export const ALERT_FIRING_METRIC = 'signwatch_alert_firing';
