/**
 * A query for Grafana's core PostgreSQL data source. The foundation SDK ships no builder for SQL data sources,
 * so this follows the SDK README's "custom query type" recipe: an object implementing cog's Dataquery variant.
 * Fields are the ones Grafana's SQL data sources store in a panel target (rawSql + format, code editor mode).
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from './datasources.js';

export interface SqlQuery {
  refId?: string;
  hide?: boolean;
  datasource?: { type: string; uid: string };
  rawSql: string;
  format: 'table' | 'time_series';
  rawQuery: true;
  editorMode: 'code';
  _implementsDataqueryVariant(): void;
}

export class SqlQueryBuilder implements Builder<Dataquery> {
  private readonly internal: SqlQuery;

  constructor(rawSql: string) {
    this.internal = { rawSql, format: 'table', rawQuery: true, editorMode: 'code', _implementsDataqueryVariant() {} };
  }

  build(): SqlQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  datasource(ds: DataSourceRef): this {
    this.internal.datasource = { type: ds.type, uid: ds.uid };
    return this;
  }

  format(format: 'table' | 'time_series'): this {
    this.internal.format = format;
    return this;
  }
}
