/**
 * Entry point for ts-json-schema-generator (see schema.ts): the foundation SDK's Dashboard type — the same SDK
 * build that generates the dashboards — plus the query models our panels use, so targets are checked too.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dataquery as PrometheusQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import type { SqlQuery } from './sql-query.js';

export type GrafanaDashboard = Dashboard;
export type GrafanaPrometheusQuery = PrometheusQuery;
export type GrafanaSqlQuery = SqlQuery;
