/**
 * One atomic write of the Postgres store: ticks, the bar updates they cause, and the per-day symbol
 * statistics, in one transaction.
 *
 * Which bar updates count: only those of ticks actually inserted (ticks already stored — re-delivered by
 * an at-least-once bus, or written twice by two replicas — must not count again). When every tick of the
 * batch was inserted, the caller's partial bars are exactly the bars of the inserted ticks (the pipeline
 * builds them from the batch), so they are merged as given, which is cheap, and a batch of bars without
 * ticks merges as the Store port describes. When some ticks were already stored, the caller's bars are
 * ignored and the updates are derived in SQL from the rows this transaction inserted.
 */
import type { PoolClient } from 'pg';
import { copyIn, statsColumns, type BarColumns, type PreparedTicks } from './postgres-copy.ts';
import { transaction } from './postgres-schema.ts';
import type { WriteSql } from './postgres-sql.ts';

async function mergeGiven(client: PoolClient, sql: WriteSql, ticks: PreparedTicks | null, bars: BarColumns): Promise<void> {
  if (bars.count > 0) await client.query({ name: 'tl_bars_given', text: sql.barsFromArrays, values: bars.values });
  if (ticks !== null && ticks.stats.length > 0) {
    await client.query({ name: 'tl_days_given', text: sql.daysFromArrays, values: statsColumns(ticks.stats) });
  }
}

/**
 * The optimistic path: COPY straight into `ticks`. It fails with a unique violation (23505) if any tick
 * is already stored — or being stored by a concurrent writer, which it first waits for — and then the
 * caller rolls back and takes `writeStaged`. Rows reach the table in the batch's sorted order, which is
 * what keeps overlapping concurrent writers from deadlocking.
 */
export async function writeDirect(client: PoolClient, sql: WriteSql, ticks: PreparedTicks, bars: BarColumns): Promise<void> {
  await transaction(client, async () => {
    await copyIn(client, sql.copyTicks, ticks.payload);
    await mergeGiven(client, sql, ticks, bars);
  });
}

/**
 * The general path: COPY into the connection's staging table, insert what is not stored yet
 * (ON CONFLICT DO NOTHING), and count only the inserted ticks. Returns how many ticks were new.
 */
export async function writeStaged(client: PoolClient, sql: WriteSql, ticks: PreparedTicks | null, bars: BarColumns): Promise<number> {
  return transaction(client, async () => {
    if (ticks === null || ticks.rows === 0) {
      await mergeGiven(client, sql, null, bars);
      return 0;
    }
    await copyIn(client, sql.copyStage, ticks.payload);
    const res = await client.query({ name: 'tl_insert_staged', text: sql.insertStaged });
    const inserted = res.rowCount ?? 0;
    if (inserted === ticks.rows) {
      await mergeGiven(client, sql, ticks, bars);
    } else if (inserted > 0) {
      await client.query({ name: 'tl_bars_new', text: sql.barsFromInserted });
      await client.query({ name: 'tl_days_new', text: sql.daysFromInserted });
    }
    return inserted;
  });
}
