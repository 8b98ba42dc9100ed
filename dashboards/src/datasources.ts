import { PROMETHEUS_DS_UID } from '../../services/alerting/generate/grafana.js';

/**
 * The data sources the dashboards reference, by uid. The Prometheus uid is the one the generated Grafana alert
 * rules use (services/alerting/generate/grafana.ts), so one provisioning file serves both. dashboards/provisioning/datasources/signwatch.yaml
 * provisions exactly these uids (a unit test checks both directions), so a fresh Grafana finds them.
 */
export interface DataSourceRef {
  readonly type: string;
  readonly uid: string;
}

/** Prometheus that scrapes the processor's /metrics. */
export const PROMETHEUS: DataSourceRef = Object.freeze({ type: 'prometheus', uid: PROMETHEUS_DS_UID });

/**
 * The PostgreSQL event store (services/query). Plugin id `grafana-postgresql-datasource` is the core PostgreSQL
 * data source's id since Grafana 10.3 (it was `postgres` before); provisioning uses the same id.
 */
export const POSTGRES: DataSourceRef = Object.freeze({ type: 'grafana-postgresql-datasource', uid: 'signwatch-postgres' });

export const ALL_DATASOURCES: readonly DataSourceRef[] = Object.freeze([PROMETHEUS, POSTGRES]);
